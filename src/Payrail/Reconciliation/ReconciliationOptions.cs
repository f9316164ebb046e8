using Cronos;
using Payrail.Hosting;

namespace Payrail.Reconciliation;

/// <summary>Section <c>Reconciliation</c>: when the worker reconciles and every bound of one run, in one place.</summary>
public sealed class ReconciliationOptions
{
    public const string SectionName = "Reconciliation";
    public const string DayPeriod = "day";
    public const string HourPeriod = "hour";

    /// <summary>The worker runs the scheduled reconciliation (off: no loop; `payrail reconcile` still works).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Cron expression (5 fields, UTC) of the scheduled runs; each reconciles the <see cref="Period"/> before it fires.</summary>
    public string Schedule { get; set; } = "30 3 * * *";

    /// <summary><c>day</c>: a run reconciles the previous whole UTC day (nightly); <c>hour</c>: the previous whole hour.</summary>
    public string Period { get; set; } = DayPeriod;

    /// <summary>The longest window one run accepts (a longer one is refused: split it).</summary>
    public TimeSpan MaxWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The most PSP lines one run reads; more fails the run (never a silent cut). Memory does not depend on it.</summary>
    public int MaxLines { get; set; } = 1_000_000;

    /// <summary>
    /// PSP listings a run reads at once, each over its own slice of the window (cut at whole seconds, the PSP's unit): one
    /// listing is one page after another, each a round trip, and on 2 cores that left one idle (measured with
    /// `bench reconcile`). 1: the window as one listing.
    /// </summary>
    public int PspReaders { get; set; } = 4;

    /// <summary>PSP lines read ahead of the copy into the run's table, all readers together: what the readers may hold.</summary>
    public int MaxReadAheadLines { get; set; } = 2_000;

    /// <summary>
    /// How long after it happened a line without its counterpart is <c>expected</c>, not a break: a webhook on its way, a
    /// PSP report that lags. A later run decides it.
    /// </summary>
    public TimeSpan TimingWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How far apart Payrail's and the PSP's timestamps of one movement may be: both sides are read that much beyond the window.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long after the PSP released a charge's funds Payrail may take to settle it before its fee line is a break.</summary>
    public TimeSpan SettlementGrace { get; set; } = TimeSpan.FromDays(2);

    /// <summary>Replays (re-fetch and apply) one run makes at most; the rest stay missing_in_payrail for a later run.</summary>
    public int MaxReplaysPerRun { get; set; } = 1_000;

    /// <summary>reconciliation.alert events one run writes at most; every break is still in the report, the log count and the metric.</summary>
    public int MaxAlertEventsPerRun { get; set; } = 1_000;

    /// <summary>PSP lines one key may have (duplicates included) before the run fails as malformed.</summary>
    public int MaxLinesPerKey { get; set; } = 64;

    /// <summary>Deadline of one run: every PSP page, the merge, every replay and write.</summary>
    public TimeSpan RunTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Where each run's CSV and JSON report is written (relative: to the working directory).</summary>
    public string ReportsDirectory { get; set; } = ".payrail/reports";

    /// <summary>
    /// How long a run's reports are kept: each run deletes reports (and a killed run's temporary files) older than this,
    /// at most <see cref="ReportFiles.MaxPrunedPerRun"/> at a time. A million-line day's CSV is about 350 MB; every item
    /// also stays in reconciliation_items.
    /// </summary>
    public TimeSpan ReportRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>The longest the loop sleeps before it looks at the clock again.</summary>
    public TimeSpan MaxSleep { get; set; } = TimeSpan.FromMinutes(10);

    public CronExpression ParseSchedule() => ScheduledLoop.ParseSchedule(Schedule);

    /// <summary>The window a scheduled run that fired at <paramref name="firedAt"/> reconciles: the whole period before it.</summary>
    public ReconciliationWindow ScheduledWindow(DateTimeOffset firedAt)
    {
        var utc = firedAt.ToUniversalTime();
        var end = Period == HourPeriod
            ? new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero)
            : new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
        return new ReconciliationWindow(end - (Period == HourPeriod ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1)), end);
    }

    public IEnumerable<string> Problems()
    {
        if (!ScheduledLoop.IsSchedule(Schedule)) yield return $"{SectionName}:Schedule must be a 5-field cron expression (e.g. \"30 3 * * *\")";
        if (Period is not (DayPeriod or HourPeriod)) yield return $"{SectionName}:Period must be day or hour";
        if (!Within(MaxWindow, TimeSpan.FromMinutes(1), TimeSpan.FromDays(31))) yield return $"{SectionName}:MaxWindow must be within [00:01:00, 31.00:00:00]";
        if (Period == DayPeriod && MaxWindow < TimeSpan.FromDays(1)) yield return $"{SectionName}:MaxWindow must hold a day when Period is day";
        if (MaxLines is < 1 or > 10_000_000) yield return $"{SectionName}:MaxLines must be within [1, 10000000]";
        if (!Within(TimingWindow, TimeSpan.Zero, TimeSpan.FromDays(7))) yield return $"{SectionName}:TimingWindow must be within [00:00:00, 7.00:00:00]";
        if (!Within(ClockSkew, TimeSpan.Zero, TimeSpan.FromHours(1))) yield return $"{SectionName}:ClockSkew must be within [00:00:00, 01:00:00]";
        if (!Within(SettlementGrace, TimeSpan.Zero, TimeSpan.FromDays(30))) yield return $"{SectionName}:SettlementGrace must be within [00:00:00, 30.00:00:00]";
        if (PspReaders is < 1 or > 16) yield return $"{SectionName}:PspReaders must be within [1, 16]";
        if (MaxReadAheadLines is < 100 or > 100_000) yield return $"{SectionName}:MaxReadAheadLines must be within [100, 100000]";
        if (MaxReplaysPerRun is < 0 or > 100_000) yield return $"{SectionName}:MaxReplaysPerRun must be within [0, 100000]";
        if (MaxAlertEventsPerRun is < 0 or > 100_000) yield return $"{SectionName}:MaxAlertEventsPerRun must be within [0, 100000]";
        if (MaxLinesPerKey is < 2 or > 10_000) yield return $"{SectionName}:MaxLinesPerKey must be within [2, 10000]";
        if (!Within(RunTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(6))) yield return $"{SectionName}:RunTimeout must be within [00:00:01, 06:00:00]";
        if (string.IsNullOrWhiteSpace(ReportsDirectory) || ReportsDirectory.Length > 1_000) yield return $"{SectionName}:ReportsDirectory is required (at most 1000 characters)";
        if (!Within(ReportRetention, TimeSpan.FromDays(1), TimeSpan.FromDays(3650))) yield return $"{SectionName}:ReportRetention must be within [1.00:00:00, 3650.00:00:00]";
        if (!Within(MaxSleep, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1))) yield return $"{SectionName}:MaxSleep must be within [00:00:00.010, 01:00:00]";
    }

    private static bool Within(TimeSpan value, TimeSpan min, TimeSpan max) => value >= min && value <= max;
}
