namespace Payrail.DevEnvironment;

/// <summary>
/// Section <c>Supervisor</c>: every bound of `payrail up`'s supervision, `status` and `down` in one place.
/// Validated at start (<see cref="Problems"/> names each broken setting).
/// </summary>
public sealed class SupervisorOptions
{
    public const string SectionName = "Supervisor";

    /// <summary>Delay before the first restart of a role that died; it doubles per exit within the window.</summary>
    public int RestartBackoffMs { get; set; } = 500;

    /// <summary>Cap of the doubling delay: a role that keeps failing is retried at most this rarely.</summary>
    public int MaxRestartBackoffMs { get; set; } = 30_000;

    /// <summary>More restarts than this within <see cref="CrashLoopWindowSeconds"/> is a crash loop: the role is not restarted again.</summary>
    public int MaxRestartsInWindow { get; set; } = 5;

    /// <summary>The window in which exits count towards a crash loop and towards the backoff; older exits are forgotten.</summary>
    public int CrashLoopWindowSeconds { get; set; } = 60;

    /// <summary>After SIGTERM, how long a child may take to exit before it is killed.</summary>
    public int StopGraceMs { get; set; } = 10_000;

    /// <summary>Size at which <c>.payrail/logs/&lt;role&gt;.log</c> is rotated to <c>&lt;role&gt;.log.1</c> (one old file is kept).</summary>
    public long MaxLogBytes { get; set; } = 10L * 1024 * 1024;

    /// <summary>Deadline of one health probe by `payrail status` (2 s: a fresh CLI's first request on a loaded machine took over 1 s).</summary>
    public int HealthTimeoutMs { get; set; } = 2_000;

    /// <summary>How long `payrail down` waits for `up` to exit: its children's grace plus Redis and PostgreSQL.</summary>
    public int DownTimeoutMs { get; set; } = 60_000;

    /// <summary>How long `up` waits for pspsim to accept connections before starting the roles that call it.</summary>
    public int DependencyWaitMs { get; set; } = 30_000;

    /// <summary>
    /// Niceness added for the roles no request waits on (worker, dashboard, devkafka): on a machine they share with the
    /// API, a payment's CPU comes first and their work catches up when it is idle. Measured with `bench --rate 80` on 2
    /// cores the whole platform saturates: API p99 1,044 / 611 ms at 0, 663 / 149 ms at 10 (README "Performance"). 0 turns it off.
    /// </summary>
    public int AsyncRolesNice { get; set; } = 10;

    public static SupervisorOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(SectionName).Get<SupervisorOptions>() ?? new SupervisorOptions();
        var problems = options.Problems().ToList();
        if (problems.Count > 0) throw new InvalidOperationException(string.Join("; ", problems));
        return options;
    }

    internal IEnumerable<string> Problems()
    {
        if (RestartBackoffMs is < 10 or > 60_000) yield return "Supervisor:RestartBackoffMs must be within [10, 60000]";
        if (MaxRestartBackoffMs < RestartBackoffMs || MaxRestartBackoffMs > 600_000)
            yield return "Supervisor:MaxRestartBackoffMs must be within [RestartBackoffMs, 600000]";
        if (MaxRestartsInWindow is < 1 or > 1_000) yield return "Supervisor:MaxRestartsInWindow must be within [1, 1000]";
        if (CrashLoopWindowSeconds is < 1 or > 86_400) yield return "Supervisor:CrashLoopWindowSeconds must be within [1, 86400]";
        if (StopGraceMs is < 100 or > 300_000) yield return "Supervisor:StopGraceMs must be within [100, 300000]";
        if (MaxLogBytes is < 4_096 or > 1024L * 1024 * 1024) yield return "Supervisor:MaxLogBytes must be within [4 KiB, 1 GiB]";
        if (HealthTimeoutMs is < 50 or > 30_000) yield return "Supervisor:HealthTimeoutMs must be within [50, 30000]";
        if (DownTimeoutMs is < 1_000 or > 600_000) yield return "Supervisor:DownTimeoutMs must be within [1000, 600000]";
        if (DependencyWaitMs is < 0 or > 600_000) yield return "Supervisor:DependencyWaitMs must be within [0, 600000]";
        if (AsyncRolesNice is < 0 or > 19) yield return "Supervisor:AsyncRolesNice must be within [0, 19]";
    }
}
