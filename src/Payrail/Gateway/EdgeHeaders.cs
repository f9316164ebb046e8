namespace Payrail.Gateway;

/// <summary>
/// Request headers a client could use to pose as someone else or to steer what the payment service trusts, removed
/// before forwarding: anything <c>X-Payrail-*</c> (reserved for what the gateway itself may add), client-supplied
/// forwarding headers (YARP sets <c>X-Forwarded-For|Proto|Host|Prefix</c> from the connection afterwards), and
/// the trace headers (the outgoing <c>traceparent</c> is the gateway's own, see <see cref="EdgeTraceContext"/>;
/// <c>tracestate</c> and <c>baggage</c> are key-value lists a downstream might read as facts, so none crosses).
/// The bearer token is kept: the API validates it again (defence in depth, same keys).
/// </summary>
public static class EdgeHeaders
{
    private static readonly string[] StrippedPrefixes = ["X-Payrail-", "X-Forwarded-", "X-Original-"];

    private static readonly string[] StrippedNames =
    [
        "Forwarded", "X-Real-IP", "X-Client-IP", "True-Client-IP", "X-Rewrite-URL", "X-HTTP-Method-Override",
        "traceparent", "tracestate", "baggage", "Correlation-Context", "Request-Id",
    ];

    public static void Strip(IHeaderDictionary headers)
    {
        List<string>? doomed = null;
        foreach (var name in headers.Keys)
        {
            if (StrippedNames.Any(n => n.Equals(name, StringComparison.OrdinalIgnoreCase))
                || StrippedPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                (doomed ??= []).Add(name);
        }
        if (doomed is null) return;
        foreach (var name in doomed) headers.Remove(name);
    }
}
