using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using DevKafka.Broker.Handlers;
using DevKafka.Groups;
using DevKafka.Log;

namespace DevKafka.Broker;

/// <summary>
/// A single-node broker speaking the Kafka wire protocol (enough for librdkafka's idempotent producer, classic
/// consumer groups and admin calls). Embeddable: <c>await using var b = await DevKafkaBroker.StartAsync(options)</c>.
/// </summary>
public sealed class DevKafkaBroker : IAsyncDisposable
{
    private readonly DevKafkaOptions _options;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Connection, Task> _connections = new();
    private TcpListener? _listener;
    private TopicStore? _topics;
    private OffsetStore? _offsets;
    private GroupCoordinator? _groups;
    private RequestHandlers? _handlers;
    private readonly List<Task> _loops = new();
    private readonly ByteBudget _requestBudget;
    private int _disposed;

    private DevKafkaBroker(DevKafkaOptions options)
    {
        _options = options;
        var sink = options.Log ?? (line => Console.Error.WriteLine(line));
        _log = line => sink($"{options.Time.GetUtcNow():HH:mm:ss.fff} devkafka {line}");
        _requestBudget = new ByteBudget(Math.Max(options.MaxBufferedRequestBytes, options.MaxRequestBytes));
    }

    public DevKafkaOptions Options => _options;
    public int Port { get; private set; }
    public string BootstrapServers => $"{_options.Host}:{Port}";

    public static Task<DevKafkaBroker> StartAsync(DevKafkaOptions options)
    {
        var broker = new DevKafkaBroker(options);
        try
        {
            broker.Start();
        }
        catch
        {
            broker.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        return Task.FromResult(broker);
    }

    private void Start()
    {
        Directory.CreateDirectory(_options.DataDirectory);
        _topics = new TopicStore(_options, _log);
        _offsets = new OffsetStore(Path.Combine(_options.DataDirectory, "groups"), _log);
        _groups = new GroupCoordinator(_options, _offsets, _log);
        _listener = new TcpListener(IPAddress.Parse(_options.Host), _options.Port);
        // A restarted broker must be able to take its port back while old connections sit in TIME_WAIT.
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start(backlog: 128);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        // Advertise the port actually bound (port 0 = pick one).
        var effective = _options with { Port = Port };
        _handlers = new RequestHandlers(effective, _topics, _groups, _offsets, _log, _stopping.Token);
        _loops.Add(AcceptLoopAsync());
        _loops.Add(EveryAsync(_options.GroupTick, _groups.Tick));
        _loops.Add(EveryAsync(_options.RetentionCheckInterval, _topics.ApplyRetention));
        _log($"listening on {BootstrapServers}, data in {Path.GetFullPath(_options.DataDirectory)}, {_topics.All().Count} topic(s)");
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener!.AcceptSocketAsync(_stopping.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) { _log($"accept failed: {e.SocketErrorCode}"); continue; }
            if (_connections.Count >= _options.MaxConnections)
            {
                _log($"refusing connection from {socket.RemoteEndPoint}: {_options.MaxConnections} connections open");
                socket.Dispose();
                continue;
            }
            var connection = new Connection(socket, _handlers!, _options, _requestBudget, _log);
            _connections[connection] = RunConnectionAsync(connection);
        }
    }

    private async Task RunConnectionAsync(Connection connection)
    {
        await Task.Yield();
        try { await connection.RunAsync(_stopping.Token).ConfigureAwait(false); }
        catch (Exception e) { _log($"connection failed: {e.Message}"); }
        finally { _connections.TryRemove(connection, out _); }
    }

    private async Task EveryAsync(TimeSpan period, Action action)
    {
        using var timer = new PeriodicTimer(period, _options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try { action(); }
                catch (Exception e) { _log($"background task failed: {e}"); }
            }
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stopping.Cancel();
        _listener?.Stop();
        _groups?.Shutdown();
        foreach (var c in _connections.Keys) c.Close();
        try { await Task.WhenAll(_loops.Concat(_connections.Values)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (TimeoutException) { _log("shutdown: some connections did not close within 10 s"); }
        _topics?.Dispose();
        _offsets?.Dispose();
        _stopping.Dispose();
        _log("stopped");
    }
}
