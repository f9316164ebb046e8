using System.Security.Cryptography;

namespace PspSim.Stripe;

public static class Ids
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Stripe-looking id: prefix + "_" + 24 random base62 characters.</summary>
    public static string New(string prefix, int length = 24) => prefix + "_" + RandomNumberGenerator.GetString(Alphabet, length);
}
