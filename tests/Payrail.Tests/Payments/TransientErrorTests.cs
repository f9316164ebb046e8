using System.Diagnostics.Metrics;
using Npgsql;
using Xunit;

namespace Payrail.Tests.Payments;

/// <summary>
/// A class (and so a database) of its own: these tests install a trigger that fails transaction 2. At most two
/// retries of a rolled-back transaction 2; a one-second lease so that a retry after giving up comes quickly.
/// </summary>
public sealed class TransientErrorFixture : PaymentsApiFixture
{
    public const int MaxTransientRetries = 2;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Payments:MaxTransientRetries", MaxTransientRetries.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Idempotency:LeaseMs", "1000"),
    ];
}

/// <summary>
/// A deadlock (40P01) or serialization failure (40001) rolls transaction 2 back whole after the PSP charged:
/// it is sent again a bounded number of times instead of answering 500 and leaving the buyer to wait out the lease.
/// </summary>
public sealed class TransientErrorTests(TransientErrorFixture api) : IClassFixture<TransientErrorFixture>
{
    [Theory]
    [InlineData("40001")]
    [InlineData("40P01")]
    public async Task Transaction_2_rolled_back_by_a_transient_error_is_retried_and_the_payment_is_charged_and_booked_once(string sqlState)
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var amount = 5150;
        using var retries = new TransientRetryCounter();
        await InstallFaultAsync(sqlState, failures: TransientErrorFixture.MaxTransientRetries);
        ApiAnswer created;
        try
        {
            created = await api.PostPaymentAsync(api.BuyerToken(buyer), Guid.NewGuid().ToString(), PaymentsApiFixture.Body(amount: amount));
            Assert.Equal(TransientErrorFixture.MaxTransientRetries + 1, await FaultAttemptsAsync());
        }
        finally
        {
            await RemoveFaultAsync();
        }

        Assert.Equal(201, created.Status);
        Assert.Equal("captured", created.PaymentStatus);
        var paymentId = created.PaymentId;
        Assert.Equal(1, await api.PaymentIntentCountAsync(paymentId));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payments WHERE buyer_id = @b", ("b", buyer)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(amount, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o", ("o", "buyer:" + buyer)));
        Assert.Equal(4, await api.ScalarAsync("SELECT count(*) FROM payment_transitions WHERE payment_id = @id", ("id", paymentId)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id AND event_type = 'payment.completed'", ("id", paymentId)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM idempotency_keys WHERE payment_id = @id AND status = 'completed'", ("id", paymentId)));
        Assert.True(retries.Count(sqlState) >= TransientErrorFixture.MaxTransientRetries,
            $"every retry is counted in payrail.payments.transient_retries (saw {retries.Count(sqlState)})");
        await api.AssertBooksBalanceAsync();
    }

    [Fact]
    public async Task More_transient_errors_than_the_bound_give_up_with_nothing_half_written_and_a_later_retry_resumes()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        var token = api.BuyerToken(buyer);
        var key = Guid.NewGuid().ToString();
        var body = PaymentsApiFixture.Body(amount: 6160);
        await InstallFaultAsync("40P01", failures: TransientErrorFixture.MaxTransientRetries + 1);
        ApiAnswer failed;
        try
        {
            failed = await api.PostPaymentAsync(token, key, body);
            Assert.Equal(TransientErrorFixture.MaxTransientRetries + 1, await FaultAttemptsAsync());
        }
        finally
        {
            await RemoveFaultAsync();
        }

        Assert.Equal(500, failed.Status);
        var paymentId = await ScalarTextAsync("SELECT id::text FROM payments WHERE buyer_id = @b", ("b", buyer));
        var id = Guid.Parse(paymentId!);
        Assert.Equal(1, await api.PaymentIntentCountAsync(id)); // the PSP charged
        // Only transaction 1 is recorded: no transfer, no balance, no event or transition of transaction 2, no answer kept.
        Assert.Equal("initiated", await ScalarTextAsync("SELECT status FROM payments WHERE id = @id", ("id", id)));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", id)));
        Assert.Equal(0, await api.ScalarAsync("SELECT count(*) FROM ledger_accounts WHERE owner = @o", ("o", "buyer:" + buyer)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM payment_transitions WHERE payment_id = @id", ("id", id)));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM outbox WHERE aggregate_id = @id", ("id", id)));
        Assert.Equal("processing", await ScalarTextAsync("SELECT status FROM idempotency_keys WHERE payment_id = @id", ("id", id)));

        api.Clock.Offset = TimeSpan.FromMinutes(1); // past the lease
        ApiAnswer resumed;
        try
        {
            resumed = await api.PostPaymentAsync(token, key, body);
        }
        finally
        {
            api.Clock.Offset = TimeSpan.Zero;
        }

        Assert.Equal(201, resumed.Status);
        Assert.Equal(id, resumed.PaymentId);
        Assert.Equal(1, await api.PaymentIntentCountAsync(id));
        Assert.Equal(1, await api.ScalarAsync("SELECT count(*) FROM ledger_transfers WHERE payment_id = @id", ("id", id)));
        Assert.Equal(6160, await api.ScalarAsync("SELECT debits_posted FROM ledger_account_totals WHERE owner = @o", ("o", "buyer:" + buyer)));
        await api.AssertBooksBalanceAsync();
    }

    /// <summary>
    /// Fails the first <paramref name="failures"/> ledger transfers inserted with <paramref name="sqlState"/>. The ledger
    /// insert is the last statement of transaction 2, so everything before it has run when it fails. A sequence
    /// counts the attempts because, unlike a table, it is not rolled back with the failed transaction.
    /// </summary>
    private async Task InstallFaultAsync(string sqlState, int failures)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand($"""
            CREATE SEQUENCE test_transient_fault_attempts;
            CREATE FUNCTION test_transient_fault() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('test_transient_fault_attempts') <= {failures} THEN
                    RAISE EXCEPTION 'injected transient fault' USING ERRCODE = '{sqlState}';
                END IF;
                RETURN NULL;
            END;
            $$;
            CREATE TRIGGER zz_test_transient_fault AFTER INSERT ON ledger_transfers
                FOR EACH ROW EXECUTE FUNCTION test_transient_fault();
            """, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<string?> ScalarTextAsync(string sql, (string Name, object Value) parameter)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        return (string?)await command.ExecuteScalarAsync();
    }

    private async Task<long> FaultAttemptsAsync() =>
        await api.ScalarAsync("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM test_transient_fault_attempts");

    private async Task RemoveFaultAsync()
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("""
            DROP TRIGGER IF EXISTS zz_test_transient_fault ON ledger_transfers;
            DROP FUNCTION IF EXISTS test_transient_fault();
            DROP SEQUENCE IF EXISTS test_transient_fault_attempts;
            """, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Counts <c>payrail.payments.transient_retries</c> by SQLSTATE. The listener hears every payment service in this
    /// test process, but only this class's database fails transaction 2, so others add nothing in practice.
    /// </summary>
    private sealed class TransientRetryCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _counts = [];

        public TransientRetryCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == Payrail.Payments.PaymentMetrics.MeterName && instrument.Name == "payrail.payments.transient_retries")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key != "sqlstate" || tag.Value is not string state) continue;
                    lock (_counts) _counts[state] = _counts.GetValueOrDefault(state) + value;
                }
            });
            _listener.Start();
        }

        public long Count(string sqlState)
        {
            lock (_counts) return _counts.GetValueOrDefault(sqlState);
        }

        public void Dispose() => _listener.Dispose();
    }
}
