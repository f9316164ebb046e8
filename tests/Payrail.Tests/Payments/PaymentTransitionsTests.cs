using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Domain.Payments;
using Payrail.Idempotency;
using Payrail.Payments;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// The one state-change path on real PostgreSQL: concurrent callers, terminal states, and the commands that must commit
/// with a change (here a marker row, standing in for an idempotency completion, a webhook's event id or a refund row).
/// </summary>
public sealed class PaymentTransitionsTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    /// <summary>Every step the state machine can ever record, derived from the domain: the edges of a valid history.</summary>
    private static readonly HashSet<(string From, string To)> ValidSteps =
        (from status in Enum.GetValues<PaymentStatus>()
         from e in Enum.GetValues<PaymentEvent>()
         let transition = PaymentStateMachine.Apply(status, e)
         where transition.IsAccepted
         from step in transition.Steps
         select (step.From.ToWire(), step.To.ToWire())).ToHashSet();

    [Fact]
    public async Task Concurrent_callers_with_different_events_on_one_payment_end_in_one_consistent_history()
    {
        await using var database = await NewDatabaseAsync();
        var store = TestPaymentStores.For(database);
        var transitions = Transitions(store, maxVersionRetries: 10);
        var payment = await RecordIntentAsync(store);
        PaymentEvent[] events = [PaymentEvent.Authorized, PaymentEvent.Captured, PaymentEvent.Failed, PaymentEvent.Voided];

        // Every caller starts from the same (soon stale) read, as webhooks, the sweeper and the API would.
        using var start = new SemaphoreSlim(0);
        var callers = Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
        {
            await start.WaitAsync();
            var e = events[i % events.Length];
            return await transitions.ApplyAsync(payment, Transition(e, payment.AmountMinor), [new InsertMarker(Guid.NewGuid(), $"caller-{i}")]);
        })).ToList();
        start.Release(callers.Count);
        var results = await Task.WhenAll(callers);

        await using var connection = await database.OpenConnectionAsync();
        var history = (await connection.QueryAsync<(string? From, string To)>(
            "SELECT from_status, to_status FROM payment_transitions WHERE payment_id = @id ORDER BY id", new { id = payment.Id })).ToList();
        Assert.Equal((null, "initiated"), history[0]);
        for (var i = 1; i < history.Count; i++)
        {
            Assert.Equal(history[i - 1].To, history[i].From);
            Assert.Contains((history[i].From!, history[i].To), ValidSteps);
        }
        var stored = (await store.FindAsync(payment.Id))!;
        Assert.Equal(history[^1].To, stored.Status.ToWire());
        var applied = results.Count(r => r.Kind == TransitionResultKind.Applied);
        Assert.True(applied >= 1, "someone moved the payment");
        Assert.Equal(applied + 1, stored.Version);
        Assert.All(results, r => Assert.NotEqual(TransitionResultKind.NotFound, r.Kind));
        // Exactly the committed callers left their marker: the refused and the given-up ones rolled theirs back.
        var markers = (await connection.QueryAsync<string>("SELECT caller FROM test_transition_markers")).ToHashSet();
        var committed = results.Select((r, i) => (r, i)).Where(x => x.r.Committed).Select(x => $"caller-{x.i}").ToHashSet();
        Assert.Equal(committed, markers);
        // One event per recorded step that announces one (captured announces completed as well), no more.
        var outbox = await connection.QuerySingleAsync<long>("SELECT count(*) FROM outbox WHERE aggregate_id = @id", new { id = payment.Id });
        var announced = history.Skip(1).Sum(s => s.To switch { "processing" => 0, "captured" => 2, _ => 1 });
        Assert.Equal(1 + announced, outbox);
        var violations = await Payrail.Ledger.LedgerVerification.VerifyAsync(connection);
        Assert.Empty(violations);
    }

    [Theory]
    [InlineData(PaymentEvent.Failed)]
    [InlineData(PaymentEvent.Voided)]
    [InlineData(PaymentEvent.Refunded)]
    public async Task A_terminal_payment_refuses_every_later_event_and_writes_nothing(PaymentEvent toTerminal)
    {
        await using var database = await NewDatabaseAsync();
        var store = TestPaymentStores.For(database);
        var transitions = Transitions(store);
        var created = await RecordIntentAsync(store);
        var terminal = (await transitions.ApplyAsync(created, Transition(toTerminal, created.AmountMinor), [])).Payment!;
        Assert.True(terminal.Status.IsTerminal());
        await using var connection = await database.OpenConnectionAsync();
        var before = await connection.QuerySingleAsync<string>(Rows);

        foreach (var e in Enum.GetValues<PaymentEvent>())
        {
            var result = await transitions.ApplyAsync(terminal.Id, Transition(e, created.AmountMinor), []);

            Assert.True(result.Kind is TransitionResultKind.Refused or TransitionResultKind.AlreadyApplied or TransitionResultKind.Stale,
                $"{e} on a {terminal.Status.ToWire()} payment came to {result.Kind}");
            Assert.Equal((terminal.Status, terminal.Version), (result.Payment!.Status, result.Payment.Version));
            if (result.Kind == TransitionResultKind.Refused) Assert.Equal(TransitionRejection.TerminalStateCode, result.Rejection!.Code);
        }

        Assert.Equal(before, await connection.QuerySingleAsync<string>(Rows));
    }

    [Fact]
    public async Task Commands_roll_back_with_a_transition_the_state_machine_refuses()
    {
        await using var database = await NewDatabaseAsync();
        var store = TestPaymentStores.For(database);
        var transitions = Transitions(store);
        var payment = await RecordIntentAsync(store);
        var failed = (await transitions.ApplyAsync(payment, Transition(PaymentEvent.Failed, payment.AmountMinor), [])).Payment!;

        var refused = await transitions.ApplyAsync(failed, Transition(PaymentEvent.Captured, payment.AmountMinor), [new InsertMarker(Guid.NewGuid(), "refused")]);
        var replayed = await transitions.ApplyAsync(failed, Transition(PaymentEvent.Failed, payment.AmountMinor), [new InsertMarker(Guid.NewGuid(), "replayed")]);

        Assert.Equal(TransitionResultKind.Refused, refused.Kind);
        Assert.Equal(TransitionResultKind.AlreadyApplied, replayed.Kind);
        await using var connection = await database.OpenConnectionAsync();
        // A replayed event changes nothing but still records what rides with it (a webhook's id: seen, never applied twice).
        Assert.Equal(["replayed"], await connection.QueryAsync<string>("SELECT caller FROM test_transition_markers"));
    }

    [Fact]
    public async Task Commands_roll_back_with_a_change_the_version_guard_aborts()
    {
        await using var database = await NewDatabaseAsync();
        var store = TestPaymentStores.For(database);
        var payment = await RecordIntentAsync(store);
        // Someone else moved the payment (version 2) after our read; with no re-read allowed, our plan on version 1 must abort whole.
        Assert.Equal(TransitionResultKind.Applied, (await Transitions(store).ApplyAsync(payment, Transition(PaymentEvent.PspAccepted, 0), [])).Kind);
        await using var connection = await database.OpenConnectionAsync();
        var before = await connection.QuerySingleAsync<string>(Rows);

        var stale = await Transitions(store, maxVersionRetries: 0).ApplyAsync(payment, Transition(PaymentEvent.Captured, payment.AmountMinor),
            [new InsertMarker(Guid.NewGuid(), "stale")]);
        var unchanged = await Transitions(store, maxVersionRetries: 0).RecordAsync(payment, [new InsertMarker(Guid.NewGuid(), "unchanged")]);

        Assert.Equal(TransitionResultKind.GaveUp, stale.Kind);
        Assert.Equal(TransitionResultKind.GaveUp, unchanged.Kind);
        Assert.Equal(before, await connection.QuerySingleAsync<string>(Rows));
        Assert.Equal(0, await connection.QuerySingleAsync<long>("SELECT count(*) FROM test_transition_markers"));

        // Allowed to re-read, the same call re-plans on version 2 and commits the change with its command.
        var retried = await Transitions(store).ApplyAsync(payment, Transition(PaymentEvent.Captured, payment.AmountMinor), [new InsertMarker(Guid.NewGuid(), "retried")]);
        Assert.Equal(TransitionResultKind.Applied, retried.Kind);
        Assert.Equal(3, retried.Payment!.Version);
        Assert.Equal(["retried"], await connection.QueryAsync<string>("SELECT caller FROM test_transition_markers"));
    }

    /// <summary>Rows of every table a change writes, and the payment's status and version.</summary>
    private const string Rows = """
        SELECT concat_ws(',', (SELECT count(*) FROM payment_transitions), (SELECT count(*) FROM outbox),
            (SELECT count(*) FROM ledger_transfers), (SELECT count(*) FROM test_transition_markers),
            (SELECT string_agg(status || ':' || version, ',') FROM payments))
        """;

    private async Task<NpgsqlDataSource> NewDatabaseAsync()
    {
        var database = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await using var connection = await database.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO merchants (id, name) VALUES ('m_transitions', 'Transitions');
            CREATE TABLE test_transition_markers (id uuid PRIMARY KEY, caller text NOT NULL, status text NOT NULL);
            """);
        return database;
    }

    private static PaymentTransitions Transitions(PaymentStore store, int maxVersionRetries = 3) =>
        new(store, Options.Create(new PaymentsOptions { MaxVersionRetries = maxVersionRetries }), TimeProvider.System);

    private static PaymentTransition Transition(PaymentEvent e, long amountMinor) => new(e switch
    {
        PaymentEvent.Captured or PaymentEvent.Settled or PaymentEvent.Refunded => new PspOutcome(e, "pi_t", amountMinor, null, null),
        PaymentEvent.Failed => new PspOutcome(e, "pi_t", 0, "declined", "The payment was declined."),
        _ => new PspOutcome(e, "pi_t", 0, null, null),
    }, "stripe", "test." + e.ToString().ToLowerInvariant());

    private static async Task<PaymentRecord> RecordIntentAsync(PaymentStore store)
    {
        var now = PaymentRecord.ToDatabasePrecision(DateTimeOffset.UtcNow);
        var payment = new PaymentRecord(Guid.CreateVersion7(now), "m_transitions", "b_transitions", 2500, "EUR", PaymentStatus.Initiated,
            CaptureMethod.Manual, null, null, 0, 0, null, null, null, new Dictionary<string, string>(), 1, now, now);
        Assert.True(await store.RecordIntentAsync(payment, new IdempotencyKey("b_transitions:test", Guid.NewGuid().ToString()), "fingerprint",
            now.AddSeconds(30), now.AddDays(1), PaymentChange.Event(Payrail.Outbox.EventTypes.PaymentInitiated, payment, null, now)));
        return payment;
    }

    /// <summary>A row that must commit with the change or not at all, recording the status the change left.</summary>
    private sealed record InsertMarker(Guid Id, string Caller) : ITransitionCommand
    {
        public void AddTo(NpgsqlBatch batch, PaymentRecord payment)
        {
            var insert = new NpgsqlBatchCommand("INSERT INTO test_transition_markers (id, caller, status) VALUES (@marker_id, @caller, @status)");
            insert.Parameters.AddWithValue("marker_id", Id);
            insert.Parameters.AddWithValue("caller", Caller);
            insert.Parameters.AddWithValue("status", payment.Status.ToWire());
            batch.BatchCommands.Add(insert);
        }
    }
}
