using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Payrail.Psp.Stripe;

/// <summary>
/// The CSV file of Stripe's <c>balance_change_from_activity.itemized.3</c> report with the <see cref="Columns"/> Payrail
/// asks for, read strictly and incrementally (a million-line file is never held whole): the header must be exactly those
/// columns, every row exactly that many fields (RFC 4180 quoting), every amount a decimal in major units that is exact in
/// the currency's ISO 4217 minor units ("10.00" USD → 1000, "500" JPY → 500, "5.00" ISK → 5; "10.005" USD is refused,
/// never rounded), every time "yyyy-MM-dd HH:mm:ss" UTC. A line that breaks a rule fails the whole report
/// (<see cref="PspUnavailableException"/>): a reconciliation on a report it half understood would raise false alarms or
/// miss real ones. Pure: bytes in, lines out.
/// </summary>
/// <param name="madeAt">When the PSP made the report: a line available on or before it is "available", a later one "pending".</param>
internal sealed class ActivityReportCsv(DateTimeOffset madeAt)
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "balance_transaction_id", "created_utc", "available_on_utc", "currency", "gross", "fee", "net", "reporting_category",
        "source_id", "customer_facing_amount", "customer_facing_currency", "payment_intent_id",
    ];

    private const int Id = 0, Created = 1, AvailableOn = 2, Currency = 3, Gross = 4, Fee = 5, Net = 6, Category = 7, Source = 8,
        FacingAmount = 9, FacingCurrency = 10, PaymentIntent = 11;

    /// <summary>A line longer than this is not one of the report's (its longest is a few hundred bytes).</summary>
    public const int MaxLineBytes = 16 * 1024;

    private static readonly byte[] Header = Encoding.ASCII.GetBytes(string.Join(',', Columns));

    private readonly int[] _starts = new int[Columns.Count];
    private readonly int[] _lengths = new int[Columns.Count];
    private readonly string?[] _quoted = new string?[Columns.Count];
    private readonly Dictionary<string, (string Code, int Exponent)> _currencies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _categories = new(StringComparer.Ordinal);
    private bool _headerRead;
    private (byte[] Text, DateTimeOffset Value) _lastCreated = ([], default);
    private (byte[] Text, DateTimeOffset Value) _lastAvailableOn = ([], default);

    /// <summary>Lines read so far (the header not counted).</summary>
    public long Rows { get; private set; }

    /// <summary>
    /// Reads the complete lines at the start of <paramref name="data"/> into <paramref name="lines"/> and returns the bytes
    /// it consumed; the rest (a line not yet complete) is to be passed again with more data behind it. With
    /// <paramref name="final"/> the data ends the file: a last line without its line break is read too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Read(ReadOnlySpan<byte> data, bool final, List<PspSettlementLine> lines)
    {
        var consumed = 0;
        while (consumed < data.Length)
        {
            var rest = data[consumed..];
            var end = rest.IndexOf((byte)'\n');
            if (end < 0)
            {
                if (rest.Length > MaxLineBytes) throw Malformed($"a line longer than {MaxLineBytes} bytes");
                if (!final) break;
                end = rest.Length;
            }
            if (end > MaxLineBytes) throw Malformed($"a line longer than {MaxLineBytes} bytes");
            var line = rest[..end];
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            consumed += Math.Min(end + 1, rest.Length);
            if (!_headerRead)
            {
                if (!line.SequenceEqual(Header)) throw Malformed("the header is not the columns asked for");
                _headerRead = true;
                continue;
            }
            Rows++;
            lines.Add(ReadRow(line));
        }
        if (final && !_headerRead) throw Malformed("no header");
        return consumed;
    }

    private PspSettlementLine ReadRow(ReadOnlySpan<byte> line)
    {
        Split(line);
        var id = Text(line, Id) ?? throw Malformed($"row {Rows} without balance_transaction_id");
        var (currency, exponent) = CurrencyOf(line, Currency, id);
        var category = Text(line, Category) ?? throw Malformed($"{id} without reporting_category");
        category = _categories.TryGetValue(category, out var known) ? known : _categories[category] = category;
        var availableOn = Time(line, AvailableOn, id, ref _lastAvailableOn);
        long? facingAmount = null;
        string? facingCurrency = null;
        if (!IsEmpty(FacingAmount) || !IsEmpty(FacingCurrency))
        {
            int facingExponent;
            (facingCurrency, facingExponent) = CurrencyOf(line, FacingCurrency, id);
            facingAmount = Minor(line, FacingAmount, facingExponent, id);
        }
        return new PspSettlementLine(
            Id: id,
            Type: category,
            PspReference: Text(line, PaymentIntent),
            SourceId: Text(line, Source),
            AmountMinor: Minor(line, Gross, exponent, id),
            FeeMinor: Minor(line, Fee, exponent, id),
            NetMinor: Minor(line, Net, exponent, id),
            CurrencyCode: currency,
            Status: availableOn <= madeAt ? "available" : "pending",
            CreatedAt: Time(line, Created, id, ref _lastCreated),
            AvailableOn: availableOn)
        {
            ReportingCategory = category,
            SourceAmountMinor = facingAmount,
            SourceCurrencyCode = facingCurrency,
        };
    }

    /// <summary>
    /// Finds the line's fields (<see cref="_starts"/>, <see cref="_lengths"/>; a quoted one's text in <see cref="_quoted"/>):
    /// exactly <see cref="Columns"/> of them. Values are made into strings only where a line keeps text.
    /// </summary>
    private void Split(ReadOnlySpan<byte> line)
    {
        var field = 0;
        var at = 0;
        while (true)
        {
            if (field == _starts.Length) throw Malformed($"row {Rows} has more than {_starts.Length} fields");
            _quoted[field] = null;
            if (at < line.Length && line[at] == (byte)'"')
            {
                // Quoted: up to the quote not doubled; "" inside is one quote.
                var text = new StringBuilder();
                var i = at + 1;
                while (true)
                {
                    var quote = line[i..].IndexOf((byte)'"');
                    if (quote < 0) throw Malformed($"row {Rows}: a quoted field without its closing quote");
                    text.Append(Encoding.UTF8.GetString(line.Slice(i, quote)));
                    i += quote + 1;
                    if (i < line.Length && line[i] == (byte)'"')
                    {
                        text.Append('"');
                        i++;
                        continue;
                    }
                    break;
                }
                if (i < line.Length && line[i] != (byte)',') throw Malformed($"row {Rows}: text after a quoted field");
                _quoted[field] = text.ToString();
                (_starts[field], _lengths[field]) = (at, 0);
                at = i;
            }
            else
            {
                var comma = line[at..].IndexOf((byte)',');
                var length = comma < 0 ? line.Length - at : comma;
                if (line.Slice(at, length).IndexOf((byte)'"') >= 0) throw Malformed($"row {Rows}: a quote inside an unquoted field");
                (_starts[field], _lengths[field]) = (at, length);
                at += length;
            }
            field++;
            if (at == line.Length) break;
            at++; // the comma
        }
        if (field != _starts.Length) throw Malformed($"row {Rows} has {field} fields, not {_starts.Length}");
    }

    private bool IsEmpty(int field) => _quoted[field] is null ? _lengths[field] == 0 : _quoted[field]!.Length == 0;

    /// <summary>The field's text; null when empty.</summary>
    private string? Text(ReadOnlySpan<byte> line, int field)
    {
        if (_quoted[field] is { } quoted) return quoted.Length == 0 ? null : quoted;
        return _lengths[field] == 0 ? null : Encoding.UTF8.GetString(line.Slice(_starts[field], _lengths[field]));
    }

    /// <summary>The field as ASCII characters into <paramref name="chars"/> (a quoted field as its text); false if it is longer.</summary>
    private bool Chars(ReadOnlySpan<byte> line, int field, Span<char> chars, out int length)
    {
        if (_quoted[field] is { } quoted)
        {
            length = quoted.Length;
            return quoted.AsSpan().TryCopyTo(chars);
        }
        length = _lengths[field];
        if (length > chars.Length) return false;
        var bytes = line.Slice(_starts[field], length);
        for (var i = 0; i < length; i++) chars[i] = (char)bytes[i];
        return true;
    }

    private (string Code, int Exponent) CurrencyOf(ReadOnlySpan<byte> line, int field, string id)
    {
        var text = Text(line, field) ?? throw Malformed($"{id} without {Columns[field]}");
        if (_currencies.TryGetValue(text, out var known)) return known;
        if (text.Length != 3 || !Domain.Money.Currency.TryFromCode(text.ToUpperInvariant(), out var currency))
            throw Malformed($"{id}: {Columns[field]} {text} is not an ISO 4217 currency");
        return _currencies[text] = (currency.Code, currency.Exponent);
    }

    /// <summary>
    /// A decimal in major units as ISO minor units, exactly: "-12.34" with exponent 2 → -1234; digits past the exponent
    /// must be zeros ("5.00" ISK → 5); no exponent notation, no thousands separator, at most 18 digits before the point.
    /// </summary>
    internal static long? ParseMinor(ReadOnlySpan<char> text, int exponent)
    {
        var negative = text.Length > 0 && text[0] == '-';
        if (negative) text = text[1..];
        var point = text.IndexOf('.');
        var whole = point < 0 ? text : text[..point];
        var fraction = point < 0 ? [] : text[(point + 1)..];
        if (whole.Length is 0 or > 18 || (point >= 0 && fraction.IsEmpty)) return null;
        long value = 0;
        foreach (var c in whole)
        {
            if (!char.IsAsciiDigit(c)) return null;
            value = value * 10 + (c - '0');
        }
        for (var i = 0; i < fraction.Length; i++)
        {
            var c = fraction[i];
            if (!char.IsAsciiDigit(c)) return null;
            if (i >= exponent && c != '0') return null; // a part of a minor unit: not an amount of this currency
        }
        for (var i = 0; i < exponent; i++)
        {
            var digit = i < fraction.Length ? fraction[i] - '0' : 0;
            if (value > (long.MaxValue - digit) / 10) return null;
            value = value * 10 + digit;
        }
        return negative ? -value : value;
    }

    private long Minor(ReadOnlySpan<byte> line, int field, int exponent, string id)
    {
        Span<char> chars = stackalloc char[40];
        if (IsEmpty(field)) throw Malformed($"{id} without {Columns[field]}");
        if (Chars(line, field, chars, out var length) && ParseMinor(chars[..length], exponent) is { } amount) return amount;
        throw Malformed($"{id}: {Columns[field]} \"{Text(line, field)}\" is not an amount in major units of its currency");
    }

    /// <summary>"yyyy-MM-dd HH:mm:ss" as UTC; the field's last value is kept, as a second's lines share it.</summary>
    private DateTimeOffset Time(ReadOnlySpan<byte> line, int field, string id, ref (byte[] Text, DateTimeOffset Value) last)
    {
        if (_quoted[field] is null && line.Slice(_starts[field], _lengths[field]).SequenceEqual(last.Text)) return last.Value;
        Span<char> chars = stackalloc char[19];
        if (!Chars(line, field, chars, out var length) || length != 19 || !DateTime.TryParseExact(chars, "yyyy-MM-dd HH:mm:ss",
                CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
            throw Malformed($"{id}: {Columns[field]} \"{Text(line, field)}\" is not a yyyy-MM-dd HH:mm:ss time");
        var value = new DateTimeOffset(time, TimeSpan.Zero);
        if (_quoted[field] is null) last = (line.Slice(_starts[field], _lengths[field]).ToArray(), value);
        return value;
    }

    private static PspUnavailableException Malformed(string why) => new($"Stripe activity report: malformed ({why}).");
}
