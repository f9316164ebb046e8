using Microsoft.Extensions.Options;
using Payrail.Hosting;

namespace Payrail.Sweeper;

/// <summary>
/// `payrail sweep --once`: one sweep from the command line (a cron job, an operator after an outage), beside or instead
/// of the worker's loop; leases keep it off the payments a running worker is checking. Exit codes: 0 nothing is stuck,
/// 1 payments are still stuck (each count printed with its status and age), 2 the sweep could not run (database or
/// PSP unreachable), 78 a broken setting (as every role).
/// </summary>
public static class SweepCommand
{
    public const int StuckExitCode = 1;
    public const int FailedExitCode = 2;

    /// <summary>The sweeper's services on the worker's defaults (pool, clock, settings), no loop, no listener started.</summary>
    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        var builder = RoleDefaults.CreateBuilder(configuration, PayrailRole.Worker, publicUrls: null);
        builder.Services.AddSweeper(configuration, runLoop: false);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    public static async Task<int> RunOnceAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        WebApplication app;
        try
        {
            app = Build(configuration);
            app.Services.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception e) when (RoleCommand.SettingsProblems(e) is { } problems)
        {
            Console.Error.WriteLine("payrail sweep: cannot start, fix the configuration (appsettings.json or PAYRAIL__Section__Key):");
            foreach (var problem in problems) Console.Error.WriteLine($"  {problem}");
            return RoleCommand.BadConfigurationExitCode;
        }
        await using (app)
        {
            SweepReport report;
            try
            {
                report = await app.Services.GetRequiredService<Sweeper>().RunOnceAsync(cancellationToken);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or Psp.PspUnavailableException)
            {
                Console.Error.WriteLine($"payrail sweep: the sweep could not run ({e.GetType().Name}: {e.Message})");
                return FailedExitCode;
            }
            Console.WriteLine($"sweep: {report.Summary} in {report.Duration.TotalMilliseconds:0} ms");
            foreach (var stuck in report.Stuck)
                Console.WriteLine($"  stuck {stuck.Status,-10} {stuck.AgeBucket,-7} {stuck.Count,6}  oldest unchanged for {Age(report.At - stuck.OldestSince)}");
            return report.StuckCount == 0 ? 0 : StuckExitCode;
        }
    }

    private static string Age(TimeSpan age) => age.TotalHours >= 1 ? $"{(int)age.TotalHours}h{age.Minutes:00}m" : $"{(int)age.TotalMinutes}m{age.Seconds:00}s";
}
