using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Payrail.Psp.Stripe;
using Payrail.Testing;
using Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// Stripe.net form-encodes requests by reflection; the runtime compiles a stub per property getter the second time it is
/// invoked, and drops it with the type's reflection cache at a garbage collection unless something holds that cache.
/// </summary>
public sealed class StripeReflectionTests(PspSimFixture psp) : IClassFixture<PspSimFixture>, IDisposable
{
    private readonly StripeConnectorHost host = new(psp.BaseUrl, psp.ApiKey);

    public void Dispose() => host.Dispose();

    [Fact]
    public void Reflection_data_of_every_sent_options_type_survives_full_garbage_collections()
    {
        var getters = WeakGetters();

        FullCollection();

        Assert.All(getters, g => Assert.True(g.Getter.IsAlive, $"{g.Type.Name}'s property getters were collected"));
    }

    [Fact]
    public async Task Authorizing_after_garbage_collections_compiles_no_new_reflection_stubs()
    {
        // The first call reads the getters interpreted, the second emits their stubs: after that they exist.
        for (var i = 0; i < 3; i++) await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(), CancellationToken.None);
        using var jit = new JitListener();

        for (var round = 0; round < 3; round++)
        {
            FullCollection();
            for (var i = 0; i < 2; i++) await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(), CancellationToken.None);
        }

        await jit.DrainAsync();
        var stubs = jit.Compiled.Where(name => name.StartsWith($"InvokeStub_{nameof(PaymentIntentCreateOptions)}.", StringComparison.Ordinal)).ToList();
        Assert.True(stubs.Count == 0, $"compiled again: {string.Join(", ", stubs.Take(5))} ({stubs.Count})");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<(Type Type, WeakReference Getter)> WeakGetters()
    {
        _ = StripeReflectionRoots.SentOptionTypes; // as the connector's constructor does
        return [.. StripeReflectionRoots.SentOptionTypes.Select(t => (t, new WeakReference(t.GetRuntimeProperties().First().GetMethod)))];
    }

    private static void FullCollection()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>The names of the methods the runtime JIT-compiles while it listens (its own events, in process).</summary>
    private sealed class JitListener : EventListener
    {
        private const EventKeywords JitKeyword = (EventKeywords)0x10;
        private readonly string sentinel = $"PayrailJitSentinel_{Guid.NewGuid():N}";

        public ConcurrentQueue<string> Compiled { get; } = new();

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, JitKeyword);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("MethodJittingStarted", StringComparison.Ordinal) != true || e.PayloadNames is null) return;
            var name = e.PayloadNames.IndexOf("MethodName");
            if (name >= 0 && e.Payload?[name] is string method) Compiled.Enqueue(method);
        }

        /// <summary>Events arrive on a dispatcher thread, in order: once a method compiled now is seen, every earlier one was.</summary>
        public async Task DrainAsync()
        {
            var method = new DynamicMethod(sentinel, typeof(int), Type.EmptyTypes);
            var il = method.GetILGenerator();
            il.Emit(OpCodes.Ldc_I4_1);
            il.Emit(OpCodes.Ret);
            _ = ((Func<int>)method.CreateDelegate(typeof(Func<int>)))();
            await Eventually.TrueAsync(() => Compiled.Contains(sentinel), TimeSpan.FromSeconds(20), "the runtime reports the sentinel's compilation");
        }
    }
}
