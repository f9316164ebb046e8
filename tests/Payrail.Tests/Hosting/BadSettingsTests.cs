using System.Diagnostics;
using Payrail.DevEnvironment;
using Payrail.Hosting;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Hosting;

/// <summary>
/// A broken configuration value stops `payrail api` and `payrail worker` at start, with the setting's name and why on
/// stderr and no stack trace: the built binary runs as a process, as an operator would run it.
/// </summary>
public sealed class BadSettingsTests : IDisposable
{
    /// <summary>A project root without `.payrail/`: no local PostgreSQL or Redis to fall back on.</summary>
    private readonly string _root = Directory.CreateTempSubdirectory("payrail-settings-").FullName;

    [Theory]
    [InlineData("api", "Postgres:ConnectionString", "Host=127.0.0.1;Port=1;;Username== =broken")]
    [InlineData("worker", "Postgres:ConnectionString", "Host=127.0.0.1;Port=1;;Username== =broken")]
    [InlineData("api", "Postgres:ConnectionString", "")]
    [InlineData("api", "Redis:Configuration", "")]
    [InlineData("api", "Kafka:BootstrapServers", "127.0.0.1")]
    [InlineData("worker", "Kafka:BootstrapServers", "broker-1:99999")]
    [InlineData("api", "Auth:SigningKey", "")]
    [InlineData("api", "Stripe:BaseUrl", "not a url")]
    [InlineData("worker", "Postgres:Worker:MaxPoolSize", "0")]
    [InlineData("worker", "Postgres:Worker:MaxPoolSize", "many")]
    [InlineData("worker", "Idempotency:Purge:BatchSize", "0")]
    [InlineData("worker", "Worker:ManagementUrls", "http://127.0.0.1:0")]
    [InlineData("worker", "Logging:Format", "xml")]
    public async Task A_broken_setting_stops_the_role_at_start_naming_the_setting_without_a_stack_trace(string role, string setting, string value)
    {
        var run = await RunRoleAsync(role, setting, value);

        Assert.Equal(RoleCommand.BadConfigurationExitCode, run.ExitCode);
        Assert.Contains(setting, run.Stderr);
        Assert.DoesNotContain("Exception", run.Stderr + run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr + run.Stdout);
    }

    private sealed record RoleRun(int ExitCode, string Stdout, string Stderr);

    /// <summary>The role with a working configuration but <paramref name="setting"/> = <paramref name="value"/>.</summary>
    private async Task<RoleRun> RunRoleAsync(string role, string setting, string value)
    {
        var settings = new Dictionary<string, string>
        {
            // Parsable and never contacted: the refusal must come before any connection.
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=nothing;Username=nobody",
            ["Redis:Configuration"] = "127.0.0.1:1",
            ["Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Auth:SigningKey"] = new string('k', 40),
            ["Api:Urls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Api:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Worker:ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}",
            [setting] = value,
        };
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(LocalPlatform.SiblingBinary("Payrail", "payrail.dll"));
        info.ArgumentList.Add(role);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("PAYRAIL__", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        info.Environment["PAYRAIL_ROOT"] = _root;
        foreach (var (name, setValue) in settings) info.Environment["PAYRAIL__" + name.Replace(":", "__")] = setValue;
        using var process = Process.Start(info)!;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            return new RoleRun(process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            // A role that did start (the refusal is missing) would serve forever.
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
