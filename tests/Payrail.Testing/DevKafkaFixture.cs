using DevKafka.Broker;
using Xunit;

namespace Payrail.Testing;

/// <summary>
/// A real devkafka broker on a free loopback port with its own data directory, for any test project that
/// needs Kafka. <see cref="RestartAsync"/> stops and starts it on the same port and data (durability tests).
/// </summary>
public class DevKafkaFixture : IAsyncLifetime
{
    private readonly object _logGate = new();
    private readonly List<string> _log = new();
    private DevKafkaBroker? _broker;

    public DevKafkaFixture()
    {
        DataDirectory = Path.Combine(Path.GetTempPath(), "payrail-devkafka-" + Guid.NewGuid().ToString("N"));
        Port = FreePort.Next();
    }

    public string DataDirectory { get; }
    public int Port { get; }
    public string BootstrapServers => $"127.0.0.1:{Port}";

    /// <summary>The broker's log lines so far (useful in assertion messages).</summary>
    public IReadOnlyList<string> LogLines
    {
        get { lock (_logGate) return _log.ToList(); }
    }

    /// <summary>Broker settings; short group timeouts so tests that kill consumers stay fast.</summary>
    protected virtual DevKafkaOptions Configure(DevKafkaOptions options) => options;

    private DevKafkaOptions Options() => Configure(new DevKafkaOptions
    {
        Port = Port,
        DataDirectory = DataDirectory,
        MinSessionTimeoutMs = 1000,
        InitialRebalanceDelayMs = 0,
        Log = line => { lock (_logGate) if (_log.Count < 10_000) _log.Add(line); },
    });

    public async Task InitializeAsync() => _broker = await DevKafkaBroker.StartAsync(Options());

    public async Task StopAsync()
    {
        if (_broker is not null) await _broker.DisposeAsync();
        _broker = null;
    }

    public async Task StartAsync()
    {
        if (_broker is null) _broker = await DevKafkaBroker.StartAsync(Options());
    }

    /// <summary>Stops the broker and starts it again with the same port and data directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
