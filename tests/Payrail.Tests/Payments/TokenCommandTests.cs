using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Payrail.Auth;
using Payrail.DevEnvironment;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>`payrail token` prints a token the API accepts, alone on the last line of stdout.</summary>
public sealed class TokenCommandTests : IDisposable
{
    /// <summary>A project root of the test's own: its `.payrail/secrets/` is where `payrail up` would keep the dev key.</summary>
    private readonly string _root = Directory.CreateTempSubdirectory("payrail-token-").FullName;

    [Fact]
    public async Task Token_command_prints_a_signed_merchant_token_on_its_last_line()
    {
        var signingKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var run = await RunTokenAsync(_root, new() { ["PAYRAIL__Auth__SigningKey"] = signingKey, ["PAYRAIL__Auth__Issuer"] = "payrail-token-test" },
            "--role", "merchant", "--sub", "clerk_1", "--merchant", "m_acme", "--ttl-minutes", "5");

        Assert.Equal(0, run.ExitCode);
        var validation = await ValidateAsync(run.LastLine, signingKey, "payrail-token-test");
        Assert.True(validation.IsValid, validation.Exception?.Message);
        Assert.Equal("clerk_1", validation.Claims["sub"]);
        Assert.Equal("merchant", validation.Claims["role"]);
        Assert.Equal("m_acme", validation.Claims["merchant_id"]);
        var lifetime = ((JsonWebToken)validation.SecurityToken).ValidTo - DateTime.UtcNow;
        Assert.InRange(lifetime, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5.1));
        Assert.False(File.Exists(Path.Combine(_root, ".payrail", "secrets", AuthOptions.DevSecretName)));
    }

    [Fact]
    public async Task Token_command_signs_with_the_development_key_of_the_local_platform()
    {
        // What `payrail up` leaves behind in the project it runs in.
        var devKey = new DevSecrets(Path.Combine(_root, ".payrail", "secrets")).GetOrCreate(AuthOptions.DevSecretName);

        var run = await RunTokenAsync(_root, [], "--role", "ops", "--sub", "op_1");

        Assert.Equal(0, run.ExitCode);
        var validation = await ValidateAsync(run.LastLine, devKey, "payrail-dev");
        Assert.True(validation.IsValid, validation.Exception?.Message);
        Assert.Equal("ops", validation.Claims["role"]);
    }

    [Fact]
    public async Task Token_command_without_a_signing_key_or_a_development_key_refuses_and_generates_none()
    {
        var run = await RunTokenAsync(_root, [], "--role", "ops", "--sub", "op_1");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.Stdout.Trim());
        Assert.Contains("Auth:SigningKey", run.Stderr);
        Assert.False(File.Exists(Path.Combine(_root, ".payrail", "secrets", AuthOptions.DevSecretName)));
    }

    private sealed record TokenRun(int ExitCode, string Stdout, string Stderr)
    {
        public string LastLine => Stdout.TrimEnd().Split('\n')[^1].Trim();
    }

    /// <summary>`payrail token` in a project root of its own, with no Auth setting but <paramref name="environment"/>.</summary>
    private static async Task<TokenRun> RunTokenAsync(string root, Dictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { LocalPlatform.SiblingBinary("Payrail", "payrail.dll"), "token" }.Concat(args))
            info.ArgumentList.Add(arg);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("PAYRAIL__Auth__", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        info.Environment["PAYRAIL_ROOT"] = root;
        foreach (var (name, value) in environment) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        await process.WaitForExitAsync(deadline.Token);
        return new TokenRun(process.ExitCode, await stdout, await stderr);
    }

    private static Task<TokenValidationResult> ValidateAsync(string token, string signingKey, string issuer) =>
        new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = "payrail-api",
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)),
        });

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
