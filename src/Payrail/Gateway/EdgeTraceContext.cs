using System.Diagnostics;

namespace Payrail.Gateway;

/// <summary>
/// W3C trace context at the edge. By default the gateway starts a new trace for every request and ignores the
/// client's <c>traceparent</c>: trace ids become log keys in every service, and a client that picks them can attach
/// its requests to another caller's trace or force sampling on. With <see cref="GatewayOptions.TrustIncomingTraceContext"/>
/// (behind an edge that starts traces itself) a valid <c>traceparent</c> is continued. Either way the API receives the
/// gateway's span as parent (YARP's propagator writes it), and the client gets the trace id back in
/// <c>traceresponse</c> (Trace Context Level 2) to quote when asking about a request.
/// </summary>
public sealed class EdgeTraceContext(RequestDelegate next, GatewayOptions options)
{
    public const string ActivityName = "Payrail.Gateway.Request";

    public async Task InvokeAsync(HttpContext context)
    {
        // The hosting layer may have started an activity already: with the inbound propagator below it is a root
        // unless trust is on. Either way the gateway's own span is a child of it (or of the trusted parent).
        using var activity = new Activity(ActivityName);
        activity.SetIdFormat(ActivityIdFormat.W3C);
        if (Activity.Current is null && options.TrustIncomingTraceContext
            && ActivityContext.TryParse(context.Request.Headers.TraceParent, null, isRemote: true, out var parent))
            activity.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        activity.Start();
        context.Response.OnStarting(() =>
        {
            context.Response.Headers["traceresponse"] = activity.Id;
            return Task.CompletedTask;
        });
        await next(context);
    }

    /// <summary>
    /// What the hosting layer reads from an incoming request: nothing unless trusted, so its activity (when it starts
    /// one) is a root of a new trace.
    /// </summary>
    public static DistributedContextPropagator InboundPropagator(GatewayOptions options) =>
        options.TrustIncomingTraceContext ? DistributedContextPropagator.CreateDefaultPropagator() : new IgnoreInbound();

    private sealed class IgnoreInbound : DistributedContextPropagator
    {
        public override IReadOnlyCollection<string> Fields { get; } = [];

        public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
        {
        }

        public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
        {
            traceId = null;
            traceState = null;
        }

        public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) => null;
    }
}
