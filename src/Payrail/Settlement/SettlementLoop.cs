using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Hosting;
using Payrail.Psp;

namespace Payrail.Settlement;

/// <summary>
/// The scheduled settlement in `payrail worker`: at each occurrence of <see cref="SettlementOptions.Schedule"/> one run
/// for that occurrence's date. A run that fails (PSP or database down) is retried until one succeeds: nothing is lost,
/// since a run settles everything released in its lookback window.
/// </summary>
public sealed class SettlementLoop(DailySettlement settlement, IOptions<SettlementOptions> options, TimeProvider clock,
    ILogger<SettlementLoop> logger)
    : ScheduledLoop(LoopName, options.Value.ParseSchedule(), options.Value.MaxSleep, clock, logger)
{
    public const string LoopName = "settlement";

    protected override async Task<string> RunAsync(DateTimeOffset due, CancellationToken cancellationToken) =>
        (await settlement.RunOnceAsync(DateOf(due), SettlementReport.ScheduleTrigger, cancellationToken)).Summary;

    protected override string Describe(DateTimeOffset due) => DateOf(due).ToString("yyyy-MM-dd");

    protected override bool IsRetryable(Exception error) => error is NpgsqlException or TimeoutException or OperationCanceledException
        or PspUnavailableException or PspRequestRejectedException or InvalidOperationException;

    private static DateOnly DateOf(DateTimeOffset due) => DateOnly.FromDateTime(due.UtcDateTime);
}
