using Microsoft.Extensions.Options;
using Payrail.Hosting;

namespace Payrail.Settlement;

/// <summary>
/// `payrail settle --once [--date YYYY-MM-DD]`: one settlement run from the command line (a cron job, an operator
/// re-running a day), beside or instead of the worker's schedule; a concurrent run cannot settle a payment twice.
/// Exit codes: 0 the run completed and refused nothing, 1 it completed but refused some charges (each logged), 2 it could
/// not run (database or PSP unreachable, too many lines, deadline), 64 a malformed date, 78 a broken setting (as every role).
/// </summary>
public static class SettleCommand
{
    public const int RefusedExitCode = 1;
    public const int FailedExitCode = 2;
    public const int UsageExitCode = 64;

    /// <summary>The settlement's services on the worker's defaults (pool, clock, settings), no loop, no listener started.</summary>
    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        var builder = RoleDefaults.CreateBuilder(configuration, PayrailRole.Worker, publicUrls: null);
        builder.Services.AddSettlement(configuration, runLoop: false);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    public static async Task<int> RunOnceAsync(IConfiguration configuration, string? date, CancellationToken cancellationToken)
    {
        DateOnly? runDate = null;
        if (date is not null)
        {
            if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", out var parsed))
            {
                Console.Error.WriteLine("payrail settle: --date must be YYYY-MM-DD");
                return UsageExitCode;
            }
            runDate = parsed;
        }
        WebApplication app;
        try
        {
            app = Build(configuration);
            app.Services.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception e) when (RoleCommand.SettingsProblems(e) is { } problems)
        {
            Console.Error.WriteLine("payrail settle: cannot start, fix the configuration (appsettings.json or PAYRAIL__Section__Key):");
            foreach (var problem in problems) Console.Error.WriteLine($"  {problem}");
            return RoleCommand.BadConfigurationExitCode;
        }
        await using (app)
        {
            var clock = app.Services.GetRequiredService<TimeProvider>();
            var day = runDate ?? DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
            SettlementReport report;
            try
            {
                report = await app.Services.GetRequiredService<DailySettlement>().RunOnceAsync(day, SettlementReport.OnceTrigger, cancellationToken);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or OperationCanceledException
                                           or Psp.PspUnavailableException or Psp.PspRequestRejectedException or InvalidOperationException)
            {
                Console.Error.WriteLine($"payrail settle: the run could not complete ({e.GetType().Name}: {e.Message})");
                return FailedExitCode;
            }
            Console.WriteLine($"settlement: {report.Summary} in {report.Duration.TotalMilliseconds:0} ms");
            return report.Refused == 0 ? 0 : RefusedExitCode;
        }
    }
}
