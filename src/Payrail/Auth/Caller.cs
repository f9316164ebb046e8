using System.Security.Claims;

namespace Payrail.Auth;

public static class Roles
{
    public const string Buyer = "buyer";
    public const string Merchant = "merchant";
    public const string Ops = "ops";

    public static bool IsKnown(string? role) => role is Buyer or Merchant or Ops;
}

/// <summary>Who is calling, from a validated token: <c>sub</c>, <c>role</c> and, for merchants, <c>merchant_id</c>.</summary>
public sealed record Caller(string Subject, string Role, string? MerchantId)
{
    public const string SubjectClaim = "sub";
    public const string RoleClaim = "role";
    public const string MerchantClaim = "merchant_id";

    public bool IsBuyer => Role == Roles.Buyer;
    public bool IsMerchant => Role == Roles.Merchant;
    public bool IsOps => Role == Roles.Ops;

    /// <summary>The idempotency scope owner: keys of different callers never collide.</summary>
    public string ScopeOwner => $"{Role}:{Subject}";

    public static Caller From(ClaimsPrincipal principal) =>
        TryFrom(principal) ?? throw new InvalidOperationException("endpoint reached without a validated caller");

    /// <summary>
    /// Null when the token lacks what its role needs, or holds several <c>sub</c>, <c>role</c> or <c>merchant_id</c>
    /// claims (a JSON array): such tokens are refused as invalid (401). One claim of each is the only shape on which
    /// every reader (authorization policies, endpoints, ledger owners) agrees about who is calling.
    /// </summary>
    public static Caller? TryFrom(ClaimsPrincipal principal)
    {
        if (!TrySingle(principal, SubjectClaim, out var subject) || !TrySingle(principal, RoleClaim, out var role)
            || !TrySingle(principal, MerchantClaim, out var merchantId))
            return null;
        // Ids become ledger owners and log fields: no whitespace or control characters, bounded length.
        if (!IsCleanId(subject) || !Roles.IsKnown(role)) return null;
        if (role == Roles.Merchant && !IsCleanId(merchantId)) return null;
        return new Caller(subject!, role!, role == Roles.Merchant ? merchantId : null);
    }

    /// <summary>False when the claim occurs more than once; <paramref name="value"/> is null when it does not occur.</summary>
    private static bool TrySingle(ClaimsPrincipal principal, string type, out string? value)
    {
        value = null;
        foreach (var claim in principal.FindAll(type))
        {
            if (value is not null) return false;
            value = claim.Value;
        }
        return true;
    }

    private static bool IsCleanId(string? id) =>
        id is { Length: > 0 and <= 128 } && !id.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));
}
