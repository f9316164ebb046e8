using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Payrail.Bench;

/// <summary>
/// pgbench's TPC-B-like run on the same PostgreSQL, in its own database, so the payments
/// figure can be read as a ratio to what this machine's database does with durable commits.
/// </summary>
public static partial class PgBenchBaseline
{
    private const string Database = "payrail_pgbench";

    public static async Task<double> RunAsync(string connectionString, int clients, TimeSpan duration, CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        await using (var admin = new NpgsqlConnection(connectionString))
        {
            await admin.OpenAsync(cancellationToken);
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", admin) { Parameters = { new() { Value = Database } } };
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE {Database}", admin);
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await RunPgBenchAsync(target, ["-i", "-q", "-s", "1"], TimeSpan.FromMinutes(2), cancellationToken);
        var output = await RunPgBenchAsync(target,
            ["-c", clients.ToString(CultureInfo.InvariantCulture), "-j", "2", "-T", ((int)Math.Max(1, duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture)],
            duration + TimeSpan.FromMinutes(1), cancellationToken);
        var match = TpsLine().Match(output);
        if (!match.Success) throw new InvalidOperationException("pgbench printed no tps line");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static async Task<string> RunPgBenchAsync(NpgsqlConnectionStringBuilder target, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("pgbench") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-h"); info.ArgumentList.Add(target.Host ?? "127.0.0.1");
        info.ArgumentList.Add("-p"); info.ArgumentList.Add(target.Port.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("-U"); info.ArgumentList.Add(target.Username ?? "postgres");
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.ArgumentList.Add(Database);
        // The password goes through the environment, never the command line (visible in ps).
        if (target.Password is { } password) info.Environment["PGPASSWORD"] = password;

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start pgbench");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"pgbench did not finish within {timeout.TotalSeconds:0} s");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"pgbench failed ({process.ExitCode}): {(await stderr).Trim()}");
        return await stdout;
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsLine();
}
