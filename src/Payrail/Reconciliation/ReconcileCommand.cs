using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Payrail.Hosting;
using Spectre.Console;

namespace Payrail.Reconciliation;

/// <summary>
/// `payrail reconcile [--date YYYY-MM-DD | --from T --to T] [--dry-run] [--format table|json]`: one reconciliation run
/// (default: the previous UTC day), beside or instead of the worker's schedule. Exit codes: 0 no break, 2 breaks (each
/// alerted), 1 bad input or a run that could not complete (another run of the window, PSP or database down, a
/// malformed PSP page), 78 a broken setting (as every role).
/// </summary>
public static class ReconcileCommand
{
    public const int BreaksExitCode = 2;
    public const int FailedExitCode = 1;
    private const int MaxBreaksPrinted = 20;

    /// <summary>The reconciliation's services on the worker's defaults (pool, clock, settings), no loop, no listener started.</summary>
    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        var builder = RoleDefaults.CreateBuilder(configuration, PayrailRole.Worker, publicUrls: null);
        builder.Services.AddReconciliation(configuration, runLoop: false);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    public sealed record Arguments(string? Date, string? From, string? To, bool DryRun, string Format);

    public static async Task<int> RunAsync(IConfiguration configuration, Arguments args, TextWriter output, TextWriter error,
        CancellationToken cancellationToken, Action<IServiceCollection>? configureServices = null)
    {
        if (args.Format is not ("table" or "json"))
        {
            await error.WriteLineAsync("payrail reconcile: --format must be table or json");
            return FailedExitCode;
        }
        WebApplication app;
        try
        {
            app = Build(configuration, configureServices);
            app.Services.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception e) when (RoleCommand.SettingsProblems(e) is { } problems)
        {
            await error.WriteLineAsync("payrail reconcile: cannot start, fix the configuration (appsettings.json or PAYRAIL__Section__Key):");
            foreach (var problem in problems) await error.WriteLineAsync($"  {problem}");
            return RoleCommand.BadConfigurationExitCode;
        }
        await using (app)
        {
            var reconciliation = app.Services.GetRequiredService<WindowReconciliation>();
            var now = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
            var (window, parseProblem) = ParseWindow(args, now);
            if ((parseProblem ?? reconciliation.WindowProblem(window!)) is { } problem)
            {
                await error.WriteLineAsync($"payrail reconcile: {problem}");
                return FailedExitCode;
            }
            ReconciliationReport report;
            try
            {
                report = await reconciliation.RunAsync(window!, ReconciliationReport.OnceTrigger, args.DryRun, cancellationToken);
            }
            catch (Exception e) when (e is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
            {
                await error.WriteLineAsync($"payrail reconcile: the run could not complete ({e.GetType().Name}: {e.Message})");
                return FailedExitCode;
            }
            var breaks = await app.Services.GetRequiredService<ReconciliationStore>().BreaksAsync(report.RunId, MaxBreaksPrinted, cancellationToken);
            if (args.Format == "json") await output.WriteLineAsync(Json(report));
            else Table(report, breaks, output);
            return report.Breaks > 0 ? BreaksExitCode : 0;
        }
    }

    /// <summary>The window the arguments name: --date (a UTC day), --from and --to (both), or none (the previous UTC day).</summary>
    public static (ReconciliationWindow? Window, string? Problem) ParseWindow(Arguments args, DateTimeOffset now)
    {
        if (args.Date is not null)
        {
            if (args.From is not null || args.To is not null) return (null, "pass --date or --from/--to, not both");
            if (!DateOnly.TryParseExact(args.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                return (null, "--date must be YYYY-MM-DD");
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return (new ReconciliationWindow(start, start.AddDays(1)), null);
        }
        if (args.From is null != args.To is null) return (null, "--from and --to go together");
        if (args.From is not null)
        {
            if (!Timestamp(args.From, out var from) || !Timestamp(args.To!, out var to))
                return (null, "--from and --to must be ISO 8601 timestamps (e.g. 2026-12-01T00:00:00Z)");
            return (new ReconciliationWindow(from, to), null);
        }
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        return (new ReconciliationWindow(today.AddDays(-1), today), null);
    }

    private static bool Timestamp(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static void Table(ReconciliationReport report, IReadOnlyList<(string Bucket, string Key, string Reason)> breaks, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        if (!ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected) console.Profile.Width = 160;
        console.WriteLine($"reconciliation run {report.RunId} of {report.Psp} {report.Window}{(report.DryRun ? " (dry run)" : "")}: " +
            $"{report.PspLines} PSP lines ({report.SkippedLines} not booked by Payrail), {report.Items} items in {report.Duration.TotalMilliseconds:0} ms");
        var table = new Table().AddColumns("bucket", "lines");
        foreach (var bucket in Buckets.All) table.AddRow(Markup.Escape(bucket), report.Count(bucket).ToString(CultureInfo.InvariantCulture));
        table.AddRow("ledger differences", report.LedgerDifferences.Count.ToString(CultureInfo.InvariantCulture));
        console.Write(table);
        if (breaks.Count > 0)
        {
            var list = new Table().AddColumns("break", "line", "reason");
            foreach (var (bucket, key, reason) in breaks) list.AddRow(Markup.Escape(bucket), Markup.Escape(key), Markup.Escape(reason));
            console.Write(list);
        }
        foreach (var d in report.LedgerDifferences)
            console.WriteLine($"ledger {d.CurrencyCode}: fee {d.LedgerFeeMinor} (PSP {d.PspFeeMinor}), net {d.LedgerNetMinor} (PSP {d.PspNetMinor})");
        console.WriteLine($"result hash {report.ResultHash}");
        console.WriteLine($"report {report.CsvPath} {report.JsonPath}");
    }

    private static string Json(ReconciliationReport report) => JsonSerializer.Serialize(new
    {
        run_id = report.RunId,
        psp = report.Psp,
        window_from = report.Window.From,
        window_to = report.Window.To,
        dry_run = report.DryRun,
        psp_lines = report.PspLines,
        skipped_lines = report.SkippedLines,
        items = report.Items,
        buckets = Buckets.All.ToDictionary(b => b, report.Count),
        ledger_differences = report.LedgerDifferences.Select(d => new
            { currency = d.CurrencyCode, psp_fee_minor = d.PspFeeMinor, ledger_fee_minor = d.LedgerFeeMinor, psp_net_minor = d.PspNetMinor, ledger_net_minor = d.LedgerNetMinor }),
        breaks = report.Breaks,
        replayed = report.Replayed,
        result_hash = report.ResultHash,
        csv = report.CsvPath,
        json = report.JsonPath,
    });
}
