namespace Payrail.DevEnvironment;

/// <summary>What the supervisor does after a child exited unexpectedly.</summary>
public abstract record RestartDecision
{
    private RestartDecision() { }

    /// <summary>Start it again after <paramref name="Delay"/>.</summary>
    public sealed record Restart(TimeSpan Delay) : RestartDecision;

    /// <summary>A crash loop: <paramref name="ExitsInWindow"/> exits within the window; the role stays down.</summary>
    public sealed record GiveUp(int ExitsInWindow) : RestartDecision;

    /// <summary>The role refused its settings (exit code 78): a restart would read the same ones, so it stays down.</summary>
    public sealed record BadSettings : RestartDecision;
}

/// <summary>
/// The restart decision, pure so that it is tested without processes. Only exits within the crash-loop window count:
/// a role that ran for a long time and then died restarts after the first delay, one that dies at once backs off
/// exponentially (0.5 s, 1 s, 2 s ... capped), and more than <see cref="SupervisorOptions.MaxRestartsInWindow"/>
/// restarts within the window stop it (a broken setting would otherwise restart forever and flood the log).
/// </summary>
public static class RestartPolicy
{
    /// <param name="exits">When this role's earlier unexpected exits happened, the latest one included (any order).</param>
    /// <param name="now">The decision time (the latest exit).</param>
    /// <param name="exitCode">The latest exit's code.</param>
    public static RestartDecision Decide(IReadOnlyCollection<DateTimeOffset> exits, DateTimeOffset now, SupervisorOptions options,
        int exitCode = 0)
    {
        if (exitCode == Payrail.Hosting.RoleCommand.BadConfigurationExitCode) return new RestartDecision.BadSettings();
        var windowStart = now - TimeSpan.FromSeconds(options.CrashLoopWindowSeconds);
        var exitsInWindow = exits.Count(e => e > windowStart && e <= now);
        // Each exit in the window was followed by a restart: one more than the bound is a crash loop.
        if (exitsInWindow > options.MaxRestartsInWindow) return new RestartDecision.GiveUp(exitsInWindow);
        return new RestartDecision.Restart(Backoff(exitsInWindow, options));
    }

    /// <summary>RestartBackoffMs · 2^(n-1), capped at MaxRestartBackoffMs, for the n-th exit within the window.</summary>
    public static TimeSpan Backoff(int exitsInWindow, SupervisorOptions options)
    {
        var doublings = Math.Clamp(exitsInWindow - 1, 0, 30);
        var delayMs = Math.Min((long)options.RestartBackoffMs << doublings, options.MaxRestartBackoffMs);
        return TimeSpan.FromMilliseconds(delayMs);
    }

    /// <summary>Drops exits older than the window so a long-running `up` keeps a bounded history per role.</summary>
    public static void Forget(List<DateTimeOffset> exits, DateTimeOffset now, SupervisorOptions options)
    {
        var windowStart = now - TimeSpan.FromSeconds(options.CrashLoopWindowSeconds);
        exits.RemoveAll(e => e <= windowStart);
    }
}
