using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Payrail.DevEnvironment;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>`payrail token` prints a token the API accepts, alone on the last line of stdout.</summary>
public sealed class TokenCommandTests
{
    [Fact]
    public async Task Token_command_prints_a_signed_merchant_token_on_its_last_line()
    {
        var signingKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { LocalPlatform.SiblingBinary("Payrail", "payrail.dll"), "token", "--role", "merchant", "--sub", "clerk_1",
                     "--merchant", "m_acme", "--ttl-minutes", "5" })
            info.ArgumentList.Add(arg);
        info.Environment["PAYRAIL__Auth__SigningKey"] = signingKey;
        info.Environment["PAYRAIL__Auth__Issuer"] = "payrail-token-test";
        using var process = Process.Start(info)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = await process.StandardOutput.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);

        Assert.Equal(0, process.ExitCode);
        var token = stdout.TrimEnd().Split('\n')[^1].Trim();
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = "payrail-token-test",
            ValidAudience = "payrail-api",
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)),
        });
        Assert.True(validation.IsValid, validation.Exception?.Message);
        Assert.Equal("clerk_1", validation.Claims["sub"]);
        Assert.Equal("merchant", validation.Claims["role"]);
        Assert.Equal("m_acme", validation.Claims["merchant_id"]);
        var lifetime = ((JsonWebToken)validation.SecurityToken).ValidTo - DateTime.UtcNow;
        Assert.InRange(lifetime, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5.1));
    }
}
