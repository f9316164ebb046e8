using System.Diagnostics;
using System.Text.Json;
using Payrail.Reconciliation;
using Payrail.DevEnvironment;
using Xunit;

namespace Payrail.Tests.Reconciliation;

/// <summary>The fixture of the scale test: its own database and pspsim (100,000 generated charges stay in them).</summary>
public sealed class ReconciliationScaleFixture : ReconciliationFixture;

/// <summary>
/// Memory stays bounded whatever the window: `payrail reconcile` runs as its own process with its managed heap capped
/// (DOTNET_GCHeapHardLimit) far below what holding a window's lines would take, and its peak resident set is read from
/// /proc while it runs.
/// </summary>
public sealed class ReconciliationScaleTests(ReconciliationScaleFixture api, Xunit.Abstractions.ITestOutputHelper log) : IClassFixture<ReconciliationScaleFixture>
{
    private const int Lines = 100_000;
    private const long HeapLimitBytes = 48L * 1024 * 1024;
    private const long MaxPeakResidentBytes = 320L * 1024 * 1024;

    [Fact]
    public async Task A_hundred_thousand_PSP_lines_reconcile_in_a_48_MB_managed_heap()
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeSeconds());
        var watch = Stopwatch.StartNew();
        await api.BulkChargesAsync("scale", Lines, at, amount: 1_000);
        log.WriteLine($"bulk {watch.ElapsedMilliseconds} ms");
        await using (var connection = await api.Postgres.OpenAsync())
        {
            await ReconciliationSeed.CapturedPaymentsAsync(connection, "stripe", Payments.PaymentsApiFixture.MerchantId, "scale", Lines, at, 1_000,
                CancellationToken.None);
        }

        log.WriteLine($"seeded {watch.ElapsedMilliseconds} ms");
        var (exit, output, error, peak) = await RunAsync(at.AddMinutes(-1), at.AddMinutes(1));
        log.WriteLine($"reconciled {watch.ElapsedMilliseconds} ms, peak {peak / 1024 / 1024} MB: {output} {error}");

        Assert.True(exit == 0, $"exit {exit}: {error}");
        // Its log lines share stdout: the report is the last line.
        var run = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;
        Assert.Equal(Lines, run.GetProperty("psp_lines").GetInt64());
        // Each charge is two lines: the charge, matched, and its fee, expected until settlement (the funds are not yet released).
        Assert.Equal((Lines, Lines, 2L * Lines), (run.GetProperty("buckets").GetProperty(Buckets.Matched).GetInt64(),
            run.GetProperty("buckets").GetProperty(Buckets.Expected).GetInt64(), run.GetProperty("items").GetInt64()));
        Assert.True(peak is > 0 and < MaxPeakResidentBytes, $"peak resident set {peak / 1024 / 1024} MB");
    }

    private async Task<(int Exit, string Output, string Error, long PeakBytes)> RunAsync(DateTimeOffset from, DateTimeOffset to)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(LocalPlatform.SiblingBinary("Payrail", "payrail.dll"));
        foreach (var arg in new[] { "reconcile", "--from", Iso(from), "--to", Iso(to), "--format", "json" }) info.ArgumentList.Add(arg);
        info.Environment["PAYRAIL__Postgres__ConnectionString"] = api.Postgres.ConnectionString;
        info.Environment["PAYRAIL__Stripe__BaseUrl"] = api.PspSim.BaseUrl;
        info.Environment["PAYRAIL__Stripe__ApiKey"] = api.PspSim.ApiKey;
        info.Environment["PAYRAIL__Reconciliation__ReportsDirectory"] = api.ReportsDirectory;
        info.Environment["PAYRAIL__Logging__LogLevel__Default"] = "Warning";
        info.Environment["PAYRAIL__Logging__LogLevel__Payrail.Reconciliation"] = "Information";
        info.Environment["DOTNET_GCHeapHardLimit"] = "0x" + HeapLimitBytes.ToString("X", System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        long peak = 0;
        var exited = process.WaitForExitAsync(deadline.Token);
        // Sampled every 50 ms: VmHWM is a high-water mark, so the last sample before the exit holds the peak.
        while (!exited.IsCompleted)
        {
            peak = Math.Max(peak, PeakResidentBytes(process.Id));
            await Task.WhenAny(exited, Task.Delay(50));
        }
        await exited;
        return (process.ExitCode, await output, await error, peak);
    }

    /// <summary>VmHWM of /proc/{pid}/status: the process's peak resident set so far (0 once it is gone).</summary>
    private static long PeakResidentBytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
