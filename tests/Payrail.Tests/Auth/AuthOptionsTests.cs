using System.Text;
using Microsoft.Extensions.Configuration;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Hosting;
using Payrail.DevEnvironment;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Auth;

/// <summary>
/// A service signs nothing, but it trusts whatever key it checks tokens against: an empty <c>Auth:SigningKey</c> must
/// not quietly become a generated key that anyone on the box can read to mint ops tokens. Only the local dev platform
/// (`payrail up`) or an explicit <c>Auth:AllowDevKey=true</c> uses the generated development key.
/// </summary>
public sealed class AuthOptionsTests : IDisposable
{
    private readonly string _secretsDirectory = Path.Combine(Path.GetTempPath(), $"payrail-auth-{Guid.NewGuid():N}");
    private string DevKeyPath => Path.Combine(_secretsDirectory, AuthOptions.DevSecretName);

    private static IConfiguration Settings(string? signingKey, string? allowDevKey = null) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:SigningKey"] = signingKey,
            ["Auth:AllowDevKey"] = allowDevKey,
        }).Build();

    [Fact]
    public void The_payment_service_refuses_to_start_without_a_signing_key_and_names_both_settings()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Api:Urls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Api:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=nobody;Database=nothing",
            ["Redis:Configuration"] = "127.0.0.1:1",
            ["Auth:SigningKey"] = "",
        }).Build();

        var refusal = Assert.Throws<InvalidSettingsException>(() => ApiHost.Build(settings));

        Assert.Contains("Auth:SigningKey", refusal.Message);
        Assert.Contains("Auth:AllowDevKey", refusal.Message);
    }

    [Fact]
    public void Without_AllowDevKey_an_empty_signing_key_generates_no_key()
    {
        Assert.Throws<InvalidSettingsException>(() => AuthOptions.From(Settings(""), new DevSecrets(_secretsDirectory)));

        Assert.False(File.Exists(DevKeyPath));
    }

    [Fact]
    public void AllowDevKey_false_is_the_same_as_not_set()
    {
        Assert.Throws<InvalidSettingsException>(() => AuthOptions.From(Settings("", "false"), new DevSecrets(_secretsDirectory)));
    }

    [Fact]
    public void With_AllowDevKey_an_empty_signing_key_uses_the_generated_development_key()
    {
        var first = AuthOptions.From(Settings("", "true"), new DevSecrets(_secretsDirectory));
        var second = AuthOptions.From(Settings("", "true"), new DevSecrets(_secretsDirectory));

        Assert.Equal(Encoding.UTF8.GetBytes(File.ReadAllText(DevKeyPath)), first.SigningKey!.Key);
        Assert.Equal(first.SigningKey!.Key, second.SigningKey!.Key);
    }

    [Fact]
    public void A_configured_signing_key_is_used_even_when_AllowDevKey_is_set()
    {
        var key = new string('k', 40);

        var options = AuthOptions.From(Settings(key, "true"), new DevSecrets(_secretsDirectory));

        Assert.Equal(Encoding.UTF8.GetBytes(key), options.SigningKey!.Key);
        Assert.False(File.Exists(DevKeyPath));
    }

    [Fact]
    public void A_signing_key_too_short_for_HS256_is_refused_without_echoing_it()
    {
        var refusal = Assert.Throws<InvalidSettingsException>(() =>
            AuthOptions.From(Settings("short-secret-value"), new DevSecrets(_secretsDirectory)));

        Assert.Contains("Auth:SigningKey", refusal.Message);
        Assert.DoesNotContain("short-secret-value", refusal.Message);
    }

    [Fact]
    public void A_dev_tool_signs_with_the_development_key_that_the_local_platform_generated()
    {
        var platform = AuthOptions.From(Settings("", "true"), new DevSecrets(_secretsDirectory));

        var tool = AuthOptions.ForDevTool(Settings(""), new DevSecrets(_secretsDirectory));

        Assert.Equal(platform.SigningKey!.Key, tool.SigningKey!.Key);
    }

    [Fact]
    public void A_dev_tool_without_a_signing_key_or_a_development_key_refuses_and_generates_none()
    {
        var refusal = Assert.Throws<InvalidSettingsException>(() =>
            AuthOptions.ForDevTool(Settings(""), new DevSecrets(_secretsDirectory)));

        Assert.Contains("Auth:SigningKey", refusal.Message);
        Assert.False(File.Exists(DevKeyPath));
    }

    [Fact]
    public void A_dev_tool_prefers_the_configured_signing_key()
    {
        AuthOptions.From(Settings("", "true"), new DevSecrets(_secretsDirectory));
        var key = new string('c', 40);

        var tool = AuthOptions.ForDevTool(Settings(key), new DevSecrets(_secretsDirectory));

        Assert.Equal(Encoding.UTF8.GetBytes(key), tool.SigningKey!.Key);
    }

    public void Dispose()
    {
        if (Directory.Exists(_secretsDirectory)) Directory.Delete(_secretsDirectory, recursive: true);
    }
}
