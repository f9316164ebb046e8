using System.Diagnostics;
using Payrail.Testing;
using Xunit;

namespace DevKafka.Tests;

/// <summary>kcat (an older librdkafka) as a second, independent client.</summary>
public sealed class KcatTests(DevKafkaFixture kafka) : IClassFixture<DevKafkaFixture>
{
    private static readonly string? Kcat = new[] { "/usr/bin/kcat", "/usr/local/bin/kcat" }.FirstOrDefault(File.Exists);

    private async Task<(int Exit, string Out, string Err)> RunAsync(string? stdin, params string[] args)
    {
        var info = new ProcessStartInfo(Kcat!) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in (string[])["-b", kafka.BootstrapServers, .. args]) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException($"kcat {string.Join(' ', args)} did not finish: {await stderr}"); }
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Kcat_lists_produces_consumes_and_joins_a_group()
    {
        // ./test provisions kcat, so a missing kcat is a provisioning bug: fail rather than pass without checking.
        Assert.True(Kcat is not null, "kcat is not installed (apt-get install -y kcat); scripts/provision.sh installs it.");
        var topic = KafkaClients.Unique("kcat");
        await KafkaClients.CreateTopicAsync(kafka.BootstrapServers, topic, 2);

        var list = await RunAsync(null, "-L", "-m", "10");
        Assert.True(list.Exit == 0, list.Err);
        Assert.Contains($"topic \"{topic}\" with 2 partitions", list.Out);
        Assert.Contains($"broker 0 at {kafka.BootstrapServers}", list.Out);

        var produce = await RunAsync("p1:authorised\np2:captured\np3:refunded\n", "-P", "-t", topic, "-K:", "-X", "enable.idempotence=true");
        Assert.True(produce.Exit == 0, produce.Err);

        var consume = await RunAsync(null, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k=%s\n");
        Assert.True(consume.Exit == 0, consume.Err);
        Assert.Equal(["p1=authorised", "p2=captured", "p3=refunded"], consume.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());

        var offsets = await RunAsync(null, "-Q", "-t", $"{topic}:0:-1", "-t", $"{topic}:1:-1");
        Assert.True(offsets.Exit == 0, offsets.Err);
        Assert.Equal(3, offsets.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Sum(line => long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)));

        var group = await RunAsync(null, "-G", KafkaClients.Unique("kcat-group"), "-o", "beginning", "-e", "-f", "%k=%s\n", topic);
        Assert.True(group.Exit == 0, group.Err);
        Assert.Equal(["p1=authorised", "p2=captured", "p3=refunded"], group.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
    }
}
