using Cronos;
using Payrail.Hosting;

namespace Payrail.Settlement;

/// <summary>Section <c>Settlement</c>: when the worker settles and every bound of one run, in one place.</summary>
public sealed class SettlementOptions
{
    public const string SectionName = "Settlement";

    /// <summary>The worker runs the scheduled settlement (off: no loop; `payrail settle --once` still works).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Cron expression (5 fields, UTC) of the scheduled runs; each settles the UTC date it fires on.</summary>
    public string Schedule { get; set; } = "0 2 * * *";

    /// <summary>
    /// A run for date D reads the PSP's balance transactions created in [D − LookbackDays, D + 1): long enough to cover
    /// the PSP's payout delay (Stripe, pspsim: 2 days) and a few missed runs; older captures are settled by a run with
    /// <c>--date</c>.
    /// </summary>
    public int LookbackDays { get; set; } = 14;

    /// <summary>Deadline of one run: reading every page of balance transactions (each call has the connector's own timeout) and every write.</summary>
    public TimeSpan RunTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Payments looked up by one statement (their PSP references in one array).</summary>
    public int LookupBatchSize { get; set; } = 500;

    /// <summary>
    /// CAPTURED payments moved to SETTLED in one transaction (each still its own version-checked write): one commit per
    /// batch instead of one per payment. A batch that cannot commit whole is written again one payment at a time.
    /// </summary>
    public int WriteBatchSize { get; set; } = 100;

    /// <summary>The longest the loop sleeps before it looks at the clock again (the next occurrence may be days away).</summary>
    public TimeSpan MaxSleep { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The parsed <see cref="Schedule"/> (valid once <see cref="Problems"/> is empty). A method, not a property: the binder leaves it alone.</summary>
    public CronExpression ParseSchedule() => ScheduledLoop.ParseSchedule(Schedule);

    public IEnumerable<string> Problems()
    {
        if (!ScheduledLoop.IsSchedule(Schedule)) yield return $"{SectionName}:Schedule must be a 5-field cron expression (e.g. \"0 2 * * *\")";
        if (LookbackDays is < 1 or > 90) yield return $"{SectionName}:LookbackDays must be within [1, 90]";
        if (!Within(RunTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1))) yield return $"{SectionName}:RunTimeout must be within [00:00:01, 01:00:00]";
        if (LookupBatchSize is < 1 or > 10_000) yield return $"{SectionName}:LookupBatchSize must be within [1, 10000]";
        if (WriteBatchSize is < 1 or > 1_000) yield return $"{SectionName}:WriteBatchSize must be within [1, 1000]";
        if (!Within(MaxSleep, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1))) yield return $"{SectionName}:MaxSleep must be within [00:00:00.010, 01:00:00]";
    }

    private static bool Within(TimeSpan value, TimeSpan min, TimeSpan max) => value >= min && value <= max;
}
