using Microsoft.Extensions.Options;
using Payrail.Hosting;

namespace Payrail.Reconciliation;

/// <summary>
/// The scheduled reconciliation in `payrail worker`: at each occurrence of <see cref="ReconciliationOptions.Schedule"/>
/// one run of the period before it (<see cref="ReconciliationOptions.ScheduledWindow"/>: the previous UTC day by
/// default, the previous hour with Period hour). A run that fails (PSP or database down, a malformed page, another run
/// of the window) is tried again until one completes; a completed run with breaks has alerted, and is not repeated.
/// </summary>
public sealed class ReconciliationLoop(WindowReconciliation reconciliation, IOptions<ReconciliationOptions> options, TimeProvider clock,
    ILogger<ReconciliationLoop> logger)
    : ScheduledLoop(LoopName, options.Value.ParseSchedule(), options.Value.MaxSleep, clock, logger)
{
    public const string LoopName = "reconciliation";

    protected override async Task<string> RunAsync(DateTimeOffset due, CancellationToken cancellationToken) =>
        (await reconciliation.RunAsync(options.Value.ScheduledWindow(due), ReconciliationReport.ScheduleTrigger, dryRun: false,
            cancellationToken)).Summary;

    protected override string Describe(DateTimeOffset due) => options.Value.ScheduledWindow(due).ToString();

    protected override bool IsRetryable(Exception error) => error is not OutOfMemoryException;
}
