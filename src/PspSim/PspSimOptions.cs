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
    /// <summary>An uncaptured (manual capture) authorization expires this many days after it was made (Stripe: 7 for most cards).</summary>
    public int AuthorizationValidityDays { get; set; } = 7;
    /// <summary>Refunds of pm_card_pendingRefund / pm_card_refundFail settle (succeed / fail) this long after creation ("some time later" at Stripe).</summary>
    public int AsyncRefundDelaySeconds { get; set; } = 30;
    /// <summary>How often the sandbox looks for objects due to change on their own (async refunds, expiring authorizations).</summary>
    public int DueChangesTickMs { get; set; } = 1_000;
    /// <summary>Most such changes made under one hold of the store lock (the rest wait for the next round).</summary>
    public int MaxDueChangesPerTick { get; set; } = 1_000;

    /// <summary>Every setting of the lifecycle that is out of bounds, named (empty when all are valid).</summary>
    public IEnumerable<string> LifecycleProblems()
    {
        if (AuthorizationValidityDays is < 1 or > 31) yield return "PspSim:AuthorizationValidityDays must be 1..31";
        if (AsyncRefundDelaySeconds is < 0 or > 30 * 86_400) yield return "PspSim:AsyncRefundDelaySeconds must be 0..2592000";
        if (DueChangesTickMs is < 10 or > 60_000) yield return "PspSim:DueChangesTickMs must be 10..60000";
        if (MaxDueChangesPerTick is < 1 or > 100_000) yield return "PspSim:MaxDueChangesPerTick must be 1..100000";
    }

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
