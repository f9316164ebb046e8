using System.Collections.Concurrent;
using System.Threading.Channels;
using Npgsql;
using Payrail.Consumers.Dashboard;

namespace Payrail.Dashboard;

/// <summary>
/// The fan-out to this instance's open streams. One connection per dashboard instance LISTENs on the channel the
/// merchant-dashboard consumer NOTIFYs at each commit that appended to a merchant's stream log; each notification wakes
/// the streams of that merchant, which then read the log themselves. PostgreSQL delivers a NOTIFY to every listening
/// session, so every instance sees every change, and a wake-up carries no data: what a stream sends always comes from
/// the log, in log order. While the LISTEN connection is down the streams poll the log instead
/// (<see cref="DashboardWebOptions.StreamPollMs"/>), and they are all woken when it is back (they may have missed some).
/// </summary>
public sealed class StreamSignals(NpgsqlDataSource database, DashboardWebOptions options, TimeProvider clock, ILogger<StreamSignals> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Signal, byte>> _byMerchant = new(StringComparer.Ordinal);
    private volatile bool _listening;

    public bool Listening => _listening;

    /// <summary>A stream's wake-up: at most one pending, so a burst of notifications costs one read.</summary>
    public sealed class Signal : IDisposable
    {
        private readonly StreamSignals _owner;
        private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
            { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

        internal Signal(StreamSignals owner, string merchantId)
        {
            _owner = owner;
            MerchantId = merchantId;
        }

        public string MerchantId { get; }

        internal void Set() => _channel.Writer.TryWrite(true);

        /// <summary>True when woken, false when <paramref name="timeout"/> passed first.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider clock, CancellationToken cancellationToken)
        {
            if (_channel.Reader.TryRead(out _)) return true;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await _channel.Reader.ReadAsync(deadline.Token);
                return true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        public void Dispose() => _owner.Remove(this);
    }

    public Signal Subscribe(string merchantId)
    {
        var signal = new Signal(this, merchantId);
        _byMerchant.GetOrAdd(merchantId, _ => new ConcurrentDictionary<Signal, byte>())[signal] = 0;
        return signal;
    }

    private void Remove(Signal signal)
    {
        if (_byMerchant.TryGetValue(signal.MerchantId, out var signals)) signals.TryRemove(signal, out _);
    }

    private void Wake(string merchantId)
    {
        if (_byMerchant.TryGetValue(merchantId, out var signals))
            foreach (var signal in signals.Keys) signal.Set();
    }

    private void WakeAll()
    {
        foreach (var signals in _byMerchant.Values)
            foreach (var signal in signals.Keys) signal.Set();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is NpgsqlException or TimeoutException or System.IO.IOException)
            {
                _listening = false;
                logger.LogWarning("dashboard stream signals: LISTEN connection lost ({Error}); streams poll the log until it is back", e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(options.ListenRetryMs), clock, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
        _listening = false;
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        await using var connection = await database.OpenConnectionAsync(stoppingToken);
        connection.Notification += (_, n) => Wake(n.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN {DashboardHandler.StreamChannel}", connection))
            await listen.ExecuteNonQueryAsync(stoppingToken);
        _listening = true;
        // Streams that polled while the connection was down may be behind a notification they never got.
        WakeAll();
        var probeEvery = TimeSpan.FromMilliseconds(options.StreamHeartbeatMs);
        while (!stoppingToken.IsCancellationRequested)
        {
            // Quiet for a heartbeat: prove the connection still answers (a dead one would wait forever).
            if (!await connection.WaitAsync(probeEvery, stoppingToken))
            {
                await using var probe = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = options.DatabaseTimeoutSeconds };
                await probe.ExecuteScalarAsync(stoppingToken);
            }
        }
    }
}
