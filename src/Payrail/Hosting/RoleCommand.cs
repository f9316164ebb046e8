using Microsoft.Extensions.Options;

namespace Payrail.Hosting;

/// <summary>
/// Runs one role (`payrail api`, `payrail worker`) until cancelled. A broken setting stops it before it serves, with
/// each setting's name and why on stderr and exit code <see cref="BadConfigurationExitCode"/>: never a stack trace,
/// because the fix is in the configuration.
/// </summary>
public static class RoleCommand
{
    /// <summary>EX_CONFIG from sysexits.h: a supervisor should not restart a role that exits with it.</summary>
    public const int BadConfigurationExitCode = 78;

    public static async Task<int> RunAsync(string role, Func<WebApplication> build, CancellationToken cancellationToken)
    {
        WebApplication app;
        try
        {
            app = build();
        }
        catch (Exception e) when (SettingsProblems(e) is { } problems)
        {
            return Refuse(role, problems);
        }
        await using (app)
        {
            try
            {
                // The ValidateOnStart checks, run here rather than inside StartAsync, where the host would log them
                // with a stack trace before rethrowing.
                app.Services.GetService<IStartupValidator>()?.Validate();
            }
            catch (Exception e) when (SettingsProblems(e) is { } problems)
            {
                return Refuse(role, problems);
            }
            await app.StartAsync(cancellationToken);
            Console.WriteLine($"{role,-10} {string.Join(", ", app.Urls)}");
            // Until Ctrl-C / SIGTERM, or until the host stops by itself (a background loop failed).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(deadline.Token);
            // A loop that died with an exception is a crash, not a clean stop: a supervisor restarts on a non-zero code.
            if (app.Services.GetServices<IHostedService>().OfType<BackgroundService>().Any(s => s.ExecuteTask is { IsFaulted: true }))
                return 1;
        }
        return 0;
    }

    private static int Refuse(string role, IReadOnlyList<string> problems)
    {
        Console.Error.WriteLine($"payrail {role}: cannot start, fix the configuration (appsettings.json or PAYRAIL__Section__Key):");
        foreach (var problem in problems) Console.Error.WriteLine($"  {problem}");
        return BadConfigurationExitCode;
    }

    /// <summary>The named problems of a configuration failure; null for any other exception (a bug keeps its stack trace).</summary>
    internal static IReadOnlyList<string>? SettingsProblems(Exception e) => e switch
    {
        InvalidSettingsException settings => settings.Problems,
        OptionsValidationException options => options.Failures.ToList(),
        AggregateException aggregate when aggregate.InnerExceptions.All(i => SettingsProblems(i) is not null) =>
            aggregate.InnerExceptions.SelectMany(i => SettingsProblems(i)!).ToList(),
        _ => null,
    };
}
