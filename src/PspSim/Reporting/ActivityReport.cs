using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using PspSim.BalanceTransactions;
using PspSim.Storage;
using PspSim.Stripe;

namespace PspSim.Reporting;

/// <summary>
/// Stripe's <c>balance_change_from_activity.itemized.3</c> report as CSV (docs.stripe.com/reports/report-types, balance
/// section): one row per balance transaction created in [interval_start, interval_end), amounts in major units of the
/// currency as decimal text ("10.00" for 1000 cents: docs.stripe.com/reports/api, "CSV and API monetary formats
/// differ"), times as "yyyy-MM-dd HH:mm:ss" in UTC. pspsim models the columns listed in <see cref="Columns"/>; a run
/// without <c>parameters[columns]</c> gets all of them, in that order.
/// </summary>
public static class ActivityReport
{
    public const string ReportType = "balance_change_from_activity.itemized.3";

    public static readonly IReadOnlyList<string> Columns =
    [
        "balance_transaction_id", "created_utc", "created", "available_on_utc", "available_on", "currency", "gross", "fee",
        "net", "reporting_category", "source_id", "description", "customer_facing_amount", "customer_facing_currency",
        "automatic_payout_id", "charge_id", "payment_intent_id",
    ];

    /// <summary>Which rows a run asked for.</summary>
    public sealed record Filter(long IntervalStart, long IntervalEnd, string? ReportingCategory, string? Currency)
    {
        public bool Matches(BalanceTransactionState t) =>
            t.Created >= IntervalStart && t.Created < IntervalEnd
            && (ReportingCategory is null || t.ReportingCategory == ReportingCategory)
            && (Currency is null || t.Currency == Currency);
    }

    public static void WriteHeader(IBufferWriter<byte> output, IReadOnlyList<string> columns) => Utf8(output, string.Join(',', columns) + "\n");

    /// <summary>Writes rows of one run: its columns resolved once, each time column's last second kept (a second's rows share it).</summary>
    public sealed class RowWriter(IReadOnlyList<string> columns)
    {
        private readonly int[] _columns = [.. columns.Select(IndexOf)];
        private readonly FormattedTime _created = new();
        private readonly FormattedTime _availableOn = new();

        private static int IndexOf(string column)
        {
            for (var i = 0; i < Columns.Count; i++)
                if (Columns[i] == column) return i;
            throw new InvalidOperationException($"column {column} is not modelled"); // refused when the run was created
        }

        /// <summary>One row; the caller holds the store lock (the row reads the transaction's source).</summary>
        public void Write(IBufferWriter<byte> output, BalanceTransactionState t, SimStore s)
        {
            var charge = t.Source.StartsWith("ch_", StringComparison.Ordinal) ? s.Charges.Find(t.Source) : null;
            var refund = t.Source.StartsWith("re_", StringComparison.Ordinal) ? s.Refunds.Find(t.Source) : null;
            for (var i = 0; i < _columns.Length; i++)
            {
                if (i > 0) Byte(output, (byte)',');
                // The index in Columns.
                switch (_columns[i])
                {
                    case 0: Text(output, t.Id); break;
                    case 1 or 2: _created.Write(output, t.Created); break;
                    case 3 or 4: _availableOn.Write(output, t.AvailableOn); break;
                    case 5: Text(output, t.Currency); break;
                    case 6: Major(output, t.Amount, t.Currency); break;
                    case 7: Major(output, t.Fee, t.Currency); break;
                    case 8: Major(output, t.Net, t.Currency); break;
                    case 9: Text(output, t.ReportingCategory); break;
                    case 10: Text(output, t.Source); break;
                    case 11: Text(output, t.Description); break;
                    case 12:
                        if (charge is not null) Major(output, charge.AmountCaptured, charge.Currency);
                        else if (refund is not null) Major(output, refund.Amount, refund.Currency);
                        break;
                    case 13: Text(output, charge?.Currency ?? refund?.Currency); break;
                    case 14: Text(output, t.Payout); break;
                    case 15: Text(output, charge?.Id ?? refund?.Charge); break;
                    default: Text(output, charge?.PaymentIntent ?? refund?.PaymentIntent); break;
                }
            }
            Byte(output, (byte)'\n');
        }

    }

    /// <summary>"yyyy-MM-dd HH:mm:ss" UTC, the last one kept.</summary>
    private sealed class FormattedTime
    {
        private readonly byte[] _text = new byte[19];
        private long _seconds = long.MinValue;

        public void Write(IBufferWriter<byte> output, long unixSeconds)
        {
            if (unixSeconds != _seconds)
            {
                DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.TryFormat(_text, out _, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                _seconds = unixSeconds;
            }
            _text.CopyTo(output.GetSpan(_text.Length));
            output.Advance(_text.Length);
        }
    }

    /// <summary>"-12.34" for -1234 USD cents, "500" for 500 JPY, "5.120" for 5120 KWD: integer arithmetic only.</summary>
    public static string Major(long amount, string currency)
    {
        var output = new ArrayBufferWriter<byte>(32);
        Major(output, amount, currency);
        return Encoding.ASCII.GetString(output.WrittenSpan);
    }

    private static void Major(IBufferWriter<byte> output, long amount, string currency)
    {
        var exponent = Currencies.Exponent(currency);
        var span = output.GetSpan(24);
        var at = 0;
        if (amount < 0) span[at++] = (byte)'-';
        var magnitude = amount < 0 ? (ulong)-(amount + 1) + 1 : (ulong)amount;
        var scale = exponent switch { 0 => 1UL, 3 => 1000UL, _ => 100UL };
        Utf8Formatter.TryFormat(magnitude / scale, span[at..], out var written);
        at += written;
        if (exponent > 0)
        {
            span[at++] = (byte)'.';
            Utf8Formatter.TryFormat(magnitude % scale, span[at..], out written, new StandardFormat('D', (byte)exponent));
            at += written;
        }
        output.Advance(at);
    }

    private static void Byte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static readonly SearchValues<char> NeedsQuotes = SearchValues.Create(",\"\r\n");

    /// <summary>A text field, quoted as RFC 4180 asks when it holds a comma, a quote or a line break; empty for null.</summary>
    private static void Text(IBufferWriter<byte> output, string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        if (!value.AsSpan().ContainsAny(NeedsQuotes))
        {
            Utf8(output, value);
            return;
        }
        Utf8(output, "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"");
    }

    private static void Utf8(IBufferWriter<byte> output, string value)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length));
        output.Advance(Encoding.UTF8.GetBytes(value, span));
    }
}
