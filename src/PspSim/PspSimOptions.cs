namespace PspSim;

/// <summary>Configuration section "PspSim" (plus --data-dir on the command line).</summary>
public sealed class PspSimOptions
{
    public string DataDir { get; set; } = "";
    /// <summary>When non-empty, only these sk_test_ keys are accepted; otherwise any sk_test_ key is.</summary>
    public List<string> ApiKeys { get; set; } = [];
    /// <summary>Processing fee on captured charges: percent in basis points (290 = 2.9%) ...</summary>
    public long FeePercentBps { get; set; } = 290;
    /// <summary>... plus a fixed fee in minor units.</summary>
    public long FeeFixedMinor { get; set; } = 30;
    /// <summary>Balance transactions become available this many days after creation.</summary>
    public int AvailableAfterDays { get; set; } = 2;
    public int MaxBodyBytes { get; set; } = 64 * 1024;
    /// <summary>How long a "timeout" fault hangs a request (unless the client disconnects first).</summary>
    public int TimeoutFaultSeconds { get; set; } = 120;
    public const int DefaultMaxStoredEvents = 200_000;
    /// <summary>Events kept in memory (and listed); older ones are evicted first. 0 keeps all.</summary>
    public int MaxStoredEvents { get; set; } = DefaultMaxStoredEvents;

    /// <summary>
    /// Fee in Stripe's unit of the charge's currency: percentage rounded half up (integer arithmetic), plus the fixed
    /// part, rounded half up to a whole <paramref name="step"/> (100 for ISK, whose amounts are whole krónur; 10 for
    /// three-decimal currencies), never above the amount. The amount is a whole step, so the fee and net are too.
    /// </summary>
    public long FeeFor(long amountMinor, long step = 1)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), "must be at least 1");
        checked
        {
            var percent = (amountMinor * FeePercentBps + 5_000) / 10_000;
            var fee = (percent + FeeFixedMinor + step / 2) / step * step;
            return Math.Min(amountMinor, fee);
        }
    }
}
