using System.Threading.Channels;

namespace Payrail.Consumers.Dashboard;

/// <summary>One change of a merchant's live view, as fanned out to subscribers.</summary>
public sealed record DashboardUpdate(Guid EventId, string Type, Guid PaymentId, string MerchantId, string Status, long AmountMinor,
    string Currency, int PaymentVersion, DateTimeOffset OccurredAt);

/// <summary>
/// In-process fan-out of dashboard updates: a bounded channel per subscriber (the dashboard's SSE connections will be the
/// subscribers). Publishing never blocks the consumer loop: a subscriber that falls behind loses its oldest updates and
/// sees <see cref="DashboardSubscription.Dropped"/> grow, and reloads rows from <c>dashboard_payments</c>.
/// </summary>
public sealed class DashboardFeed(ConsumersOptions options)
{
    private readonly object _gate = new();
    private readonly List<DashboardSubscription> _subscribers = [];
    private readonly DashboardOptions _options = options.Dashboard;

    public int SubscriberCount
    {
        get { lock (_gate) return _subscribers.Count; }
    }

    /// <summary>A new subscriber for one merchant (null: every merchant); null when MaxSubscribers are connected.</summary>
    public DashboardSubscription? Subscribe(string? merchantId)
    {
        var channel = Channel.CreateBounded<DashboardUpdate>(new BoundedChannelOptions(_options.SubscriberBufferEvents)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = false,
        });
        lock (_gate)
        {
            if (_subscribers.Count >= _options.MaxSubscribers) return null;
            var subscription = new DashboardSubscription(this, merchantId, channel, _options.SubscriberBufferEvents);
            _subscribers.Add(subscription);
            return subscription;
        }
    }

    public void Publish(DashboardUpdate update)
    {
        DashboardSubscription[] subscribers;
        lock (_gate) subscribers = [.. _subscribers];
        foreach (var subscriber in subscribers)
            if (subscriber.MerchantId is null || subscriber.MerchantId == update.MerchantId) subscriber.Offer(update);
    }

    internal void Remove(DashboardSubscription subscription)
    {
        lock (_gate) _subscribers.Remove(subscription);
    }
}

public sealed class DashboardSubscription : IDisposable
{
    private readonly DashboardFeed _feed;
    private readonly Channel<DashboardUpdate> _channel;
    private readonly int _capacity;
    private long _dropped;

    internal DashboardSubscription(DashboardFeed feed, string? merchantId, Channel<DashboardUpdate> channel, int capacity)
    {
        _feed = feed;
        MerchantId = merchantId;
        _channel = channel;
        _capacity = capacity;
    }

    public string? MerchantId { get; }
    public ChannelReader<DashboardUpdate> Updates => _channel.Reader;

    /// <summary>Updates this subscriber lost because its buffer was full (approximate under a concurrent reader).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    internal void Offer(DashboardUpdate update)
    {
        if (_channel.Reader.Count >= _capacity) Interlocked.Increment(ref _dropped);
        _channel.Writer.TryWrite(update);
    }

    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _feed.Remove(this);
    }
}
