using Npgsql;
using Payrail.Outbox;

namespace Payrail.Consumers.Accounting;

/// <summary>
/// <c>accounting</c>: each capture and each refund (partial ones each their own) becomes one line of its day's settlement (UTC date of the
/// event), stored in <c>settlement_lines</c>; after the commit the day's file <c>.payrail/settlement/YYYY-MM-DD.csv</c>
/// is rewritten whole from the table (temporary file, then rename), so a redelivery rewrites the same text.
/// </summary>
public sealed class AccountingHandler(NpgsqlDataSource database, ConsumersOptions options) : IEventHandler
{
    public const string ConsumerName = "accounting";

    private readonly AccountingOptions _options = options.Accounting;
    private readonly SemaphoreSlim _fileGate = new(1, 1);

    public string Name => ConsumerName;

    public bool Handles(string type) => type is EventTypes.PaymentCaptured or EventTypes.PaymentRefunded;

    public static DateOnly SettlementDate(OutboxEvent e) => DateOnly.FromDateTime(e.OccurredAt.UtcDateTime);

    public async Task ApplyAsync(NpgsqlTransaction transaction, OutboxEvent e, CancellationToken cancellationToken)
    {
        var capture = e.Type == EventTypes.PaymentCaptured;
        // A refund line is that refund's own amount, one line per refund (partial refunds each their own, migration 0018).
        var amount = capture ? e.Payment.AmountCapturedMinor : e.Refund?.AmountMinor ?? e.Payment.AmountRefundedMinor;
        if (amount <= 0) throw new InvalidOperationException($"a {e.Type} event with no {(capture ? "captured" : "refunded")} amount");
        await using var command = new NpgsqlCommand("""
            INSERT INTO settlement_lines (event_id, payment_id, kind, settlement_date, merchant_id, currency, amount_minor, occurred_at, refund_id)
            VALUES (@event_id, @payment_id, @kind, @date, @merchant_id, @currency, @amount, @at, @refund_id)
            ON CONFLICT DO NOTHING
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("event_id", e.Id);
        command.Parameters.AddWithValue("payment_id", e.PaymentId);
        command.Parameters.AddWithValue("kind", capture ? "capture" : "refund");
        command.Parameters.AddWithValue("date", SettlementDate(e));
        command.Parameters.AddWithValue("merchant_id", e.Payment.MerchantId);
        command.Parameters.AddWithValue("currency", e.Payment.Currency);
        command.Parameters.AddWithValue("amount", amount);
        command.Parameters.AddWithValue("at", e.OccurredAt);
        command.Parameters.Add(new NpgsqlParameter("refund_id", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)e.Refund?.Id ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task AfterCommitAsync(OutboxEvent e, bool redelivered, CancellationToken cancellationToken)
    {
        var date = SettlementDate(e);
        await _fileGate.WaitAsync(cancellationToken);
        try
        {
            var text = SettlementFile.Render(await SettlementFile.ReadAsync(database, date, _options.MaxLinesPerDay, cancellationToken));
            var directory = _options.ResolvedSettlementDirectory;
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, SettlementFile.FileName(date));
            var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            await File.WriteAllTextAsync(temporary, text, cancellationToken);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            _fileGate.Release();
        }
    }
}
