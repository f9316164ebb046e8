using System.Text.Json;
using System.Text.Json.Nodes;
using PspSim.BalanceTransactions;
using PspSim.Events;
using PspSim.PaymentIntents;
using PspSim.Refunds;
using PspSim.Stripe;
using PspSim.Webhooks;

namespace PspSim.Storage;

/// <summary>
/// All Stripe objects in memory behind one lock (simple and fast enough: a request holds it for
/// microseconds), journaled so a restart replays them. Bounded: events (the bulk, a full object snapshot each) are
/// capped at <see cref="PspSimOptions.MaxStoredEvents"/>; payments and events past <see cref="Retention"/>'s limits are
/// evicted; the journal is folded into a snapshot once it passes <see cref="PspSimOptions.MaxJournalBytes"/>
/// (see SimStore.Compaction.cs).
/// </summary>
public sealed partial class SimStore : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Journal _journal;
    private readonly TimeProvider _clock;
    private readonly string _dataDir;
    private readonly Retention.Limits _retention;
    private readonly long _maxJournalBytes;
    private readonly long _snapshotBytesPerSecond;

    public Table<PaymentIntentState> PaymentIntents { get; } = new();
    /// <summary>Grouped by PaymentIntent, as refunds are, so a payment's objects are found without a scan (Retention).</summary>
    public Table<ChargeState> Charges { get; } = new(groupOf: ch => ch.PaymentIntent);
    public Table<RefundState> Refunds { get; } = new(groupOf: re => re.PaymentIntent);
    /// <summary>Grouped by source (the charge, refund or payout each moved money for).</summary>
    public Table<BalanceTransactionState> BalanceTransactions { get; } = new(groupOf: txn => txn.Source);
    /// <summary>Automatic payouts, evicted after <see cref="PspSimOptions.RetentionDays"/> (see Retention).</summary>
    public Table<Payouts.PayoutState> Payouts { get; } = new();
    /// <summary>Balance transactions not yet paid out, by available_on (what <see cref="PspSim.Payouts.AutomaticPayouts"/> reads).</summary>
    public SortedSet<(long AvailableOn, string Id)> Unpaid { get; } = [];
    /// <summary>When the last automatic payout was made (sim clock), null before the first.</summary>
    public long? LastPayoutAt { get; set; }
    public Table<EventState> Events { get; }
    /// <summary>Where events are delivered (at most <see cref="WebhookEndpointState.MaxEndpoints"/>, as Stripe's 16).</summary>
    public Table<WebhookEndpointState> WebhookEndpoints { get; } = new();
    /// <summary>Receives each committed write's deliveries once its journal lines reached the OS (none before it is set).</summary>
    public IWebhookSink? Webhooks { get; set; }
    public Idempotency.IdempotencyKeys IdempotencyKeys { get; }
    /// <summary>What a search sees of each PaymentIntent, with Stripe's indexing lag (see PaymentIntentSearchIndex).</summary>
    public PaymentIntentSearchIndex PaymentIntentSearch { get; } = new();
    /// <summary>
    /// Objects due to change on their own at a sim-clock second (async refunds, uncaptured authorizations), soonest
    /// first. Entries are checked when due and dropped if the object moved on meanwhile (e.g. a captured charge).
    /// </summary>
    public SortedSet<(long DueAt, string Id)> Due { get; } = [];
    /// <summary>Report runs and their files: not journaled, outside the store lock (see <see cref="Reporting.ReportRuns"/>).</summary>
    public Reporting.ReportRuns ReportRuns { get; }

    public SimStore(string dataDir, TimeProvider clock, int maxStoredEvents = PspSimOptions.DefaultMaxStoredEvents)
        : this(dataDir, clock, new PspSimOptions { MaxStoredEvents = maxStoredEvents })
    {
    }

    public SimStore(string dataDir, TimeProvider clock, PspSimOptions options)
    {
        _clock = clock;
        _dataDir = dataDir;
        _retention = new Retention.Limits(options.RetentionDays, options.MaxStoredPaymentIntents);
        _maxJournalBytes = options.MaxJournalBytes;
        _snapshotBytesPerSecond = options.SnapshotWriteBytesPerSecond;
        _compactAtBytes = options.MaxJournalBytes;
        Events = new Table<EventState>(options.MaxStoredEvents);
        IdempotencyKeys = new Idempotency.IdempotencyKeys(clock, options.MaxStoredIdempotencyKeys);
        ReportRuns = new Reporting.ReportRuns(dataDir);
        _journal = Journal.Open(dataDir, Replay);
        IdempotencyKeys.AttachJournal(_journal);
        // What the limits no longer allow (e.g. after the clock moved on, or lower limits) is dropped now; the next
        // snapshot leaves it out.
        Retention.Evict(this, Now(), _retention);
    }

    public long Now() => _clock.GetUtcNow().ToUnixTimeSeconds();
    public long NowMs() => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private void Replay(string kind, JsonElement v)
    {
        var o = Journal.Json;
        switch (kind)
        {
            case "pi":
                var pi = v.Deserialize<PaymentIntentState>(o)!;
                PaymentIntents.Upsert(pi);
                PaymentIntentSearch.Record(pi, writtenAtMs: 0); // replayed: searchable at once
                Schedule(pi);
                break;
            case "ch": var ch = v.Deserialize<ChargeState>(o)!; Charges.Upsert(ch); Schedule(ch); break;
            case "re": var re = v.Deserialize<RefundState>(o)!; Refunds.Upsert(re); Schedule(re); break;
            case "txn": var txn = v.Deserialize<BalanceTransactionState>(o)!; BalanceTransactions.Upsert(txn); TrackUnpaid(txn); break;
            case "po":
                var po = v.Deserialize<Payouts.PayoutState>(o)!;
                Payouts.Upsert(po);
                LastPayoutAt = Math.Max(LastPayoutAt ?? po.Created, po.Created);
                break;
            case "evt": Events.Upsert(v.Deserialize<EventState>(o)!); break;
            case "we":
                var we = v.Deserialize<WebhookEndpointState>(o)!;
                // A deletion is journaled as a tombstone of the endpoint.
                if (we.Deleted) WebhookEndpoints.Remove(we.Id);
                else WebhookEndpoints.Upsert(we);
                break;
            case "idem": IdempotencyKeys.Restore(v.Deserialize<Idempotency.StoredResponse>(o)!); break;
        }
    }

    private void TrackUnpaid(BalanceTransactionState txn)
    {
        if (txn.Payout is null && txn.Type != "payout") Unpaid.Add((txn.AvailableOn, txn.Id));
        else Unpaid.Remove((txn.AvailableOn, txn.Id));
    }

    private void Schedule(ChargeState ch)
    {
        if (ch.CaptureBefore is { } at && !ch.Captured) Due.Add((at, ch.Id));
    }

    private void Schedule(PaymentIntentState pi)
    {
        if (pi.SettleAt is { } at && pi.Status == PiStatus.Processing) Due.Add((at, pi.Id));
    }

    private void Schedule(RefundState re)
    {
        if (re.SettleAt is { } at) Due.Add((at, re.Id));
    }

    public T Read<T>(Func<SimStore, T> read)
    {
        lock (_gate) return read(this);
    }

    /// <summary>
    /// Runs a state change under the lock and journals what it saved. A change must validate
    /// everything before it mutates anything: a rejected request writes nothing.
    /// </summary>
    public T Write<T>(RequestInfo request, Func<WriteTx, T> change)
    {
        WriteTx? tx = null;
        try
        {
            lock (_gate)
            {
                tx = new WriteTx(this, request, Now());
                try { return change(tx); }
                finally { tx.Commit(); }
            }
        }
        // The write syscall runs outside the store lock (the journal has its own), so other requests
        // are not held behind it; the caller still answers only after its lines reached the OS.
        finally
        {
            _journal.Flush();
            CompactIfDue();
            // Only now: a webhook never announces an event a crash could still take back.
            if (tx?.Deliveries is { Count: > 0 } deliveries) Webhooks?.Enqueue(deliveries);
        }
    }

    public sealed class WriteTx(SimStore store, RequestInfo request, long now)
    {
        // Rows saved by this change in order; a row saved twice is journaled once, in its final state.
        private readonly List<(string Kind, object Row)> _saved = [];
        private readonly HashSet<object> _savedRows = new(ReferenceEqualityComparer.Instance);
        /// <summary>(event, endpoint) pairs this write's events go to, handed to <see cref="Webhooks"/> after the journal flush.</summary>
        internal List<PendingDelivery>? Deliveries { get; private set; }
        public SimStore Store => store;
        public long Now => now;
        public RequestInfo Request => request;

        public void Save(PaymentIntentState pi)
        {
            store.PaymentIntents.Upsert(pi);
            store.Schedule(pi);
            store.PaymentIntentSearch.Record(pi, store.NowMs());
            Track("pi", pi);
        }
        public void Save(ChargeState ch) { store.Charges.Upsert(ch); store.Schedule(ch); Track("ch", ch); }
        public void Save(RefundState re) { store.Refunds.Upsert(re); store.Schedule(re); Track("re", re); }
        public void Save(BalanceTransactionState txn) { store.BalanceTransactions.Upsert(txn); store.TrackUnpaid(txn); Track("txn", txn); }
        public void Save(Payouts.PayoutState po) { store.Payouts.Upsert(po); Track("po", po); }
        public void Save(WebhookEndpointState we) { store.WebhookEndpoints.Upsert(we); Track("we", we); }

        /// <summary>Removes the endpoint; the journal keeps a tombstone so a replay removes it too.</summary>
        public void Delete(WebhookEndpointState we)
        {
            store.WebhookEndpoints.Remove(we.Id);
            we.Deleted = true;
            Track("we", we);
        }

        private void Track(string kind, object row)
        {
            if (_savedRows.Add(row)) _saved.Add((kind, row));
        }

        /// <param name="previousAttributes">On *.updated events: the changed fields' old values (Stripe's data.previous_attributes).</param>
        public void Emit(string type, JsonObject snapshot, JsonObject? previousAttributes = null)
        {
            var evt = new EventState
            {
                Id = Ids.New("evt"),
                Created = now,
                Type = type,
                Object = snapshot.ToJsonString(),
                PreviousAttributes = previousAttributes?.ToJsonString(),
                RequestId = request.RequestId,
                IdempotencyKey = request.IdempotencyKey,
            };
            store.Events.Upsert(evt);
            _saved.Add(("evt", evt));
            // The endpoints enabled for it now get it (Stripe: pending_webhooks counts them until each answers 2xx).
            foreach (var endpoint in store.WebhookEndpoints.OldestFirst())
            {
                if (!endpoint.Wants(type)) continue;
                (Deliveries ??= []).Add(new PendingDelivery(evt, endpoint.Id));
                evt.AddPendingWebhook();
            }
        }

        internal void Commit()
        {
            foreach (var (kind, row) in _saved)
            {
                switch (row)
                {
                    case PaymentIntentState pi: store._journal.Append(kind, pi); break;
                    case ChargeState ch: store._journal.Append(kind, ch); break;
                    case RefundState re: store._journal.Append(kind, re); break;
                    case BalanceTransactionState txn: store._journal.Append(kind, txn); break;
                    case Payouts.PayoutState po: store._journal.Append(kind, po); break;
                    case EventState evt: store._journal.Append(kind, evt); break;
                    case WebhookEndpointState we: store._journal.Append(kind, we); break;
                }
            }
            _saved.Clear();
            _savedRows.Clear();
        }
    }
}

/// <summary>Who asked: recorded on events as Stripe's event.request.</summary>
public sealed record RequestInfo(string? RequestId, string? IdempotencyKey);
