using System.Globalization;
using System.Security.Cryptography;
using Payrail.Domain.Money;

namespace Payrail.Consumers;

/// <summary>Small pure helpers the handlers share: amounts printed from minor units with integer arithmetic, derived ids.</summary>
public static class MinorUnits
{
    /// <summary>"19.99" for 1999 USD, "1999" for 1999 JPY, "1.999" for 1999 KWD: integer division only, never a double.</summary>
    public static string Format(long amountMinor, string currencyCode)
    {
        var exponent = Currency.FromCode(currencyCode).Exponent;
        if (exponent == 0) return amountMinor.ToString(CultureInfo.InvariantCulture);
        var scale = Pow10(exponent);
        var sign = amountMinor < 0 ? "-" : "";
        var magnitude = Math.Abs(amountMinor);
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{magnitude / scale}.{(magnitude % scale).ToString(CultureInfo.InvariantCulture).PadLeft(exponent, '0')}");
    }

    public static long Pow10(int exponent)
    {
        var value = 1L;
        for (var i = 0; i < exponent; i++) value *= 10;
        return value;
    }

    /// <summary>
    /// A uuid derived from an event id and a purpose ("buyer", "merchant", "earn"): the same inputs give the same id on
    /// every delivery, so a row or file named by it cannot be made twice.
    /// </summary>
    public static Guid DerivedId(Guid eventId, string purpose)
    {
        Span<byte> input = stackalloc byte[16 + 64];
        eventId.TryWriteBytes(input, bigEndian: true, out _);
        var length = 16 + System.Text.Encoding.UTF8.GetBytes(purpose.AsSpan(0, Math.Min(purpose.Length, 32)), input[16..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..length], hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8: custom (RFC 9562)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // variant 10
        return new Guid(hash[..16], bigEndian: true);
    }
}
