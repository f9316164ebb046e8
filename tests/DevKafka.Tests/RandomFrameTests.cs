using System.Buffers.Binary;
using System.Net.Sockets;
using DevKafka.Protocol;
using Xunit;

namespace DevKafka.Tests;

public sealed class RandomFrameTests(Payrail.Testing.DevKafkaFixture kafka) : IClassFixture<Payrail.Testing.DevKafkaFixture>
{
    [Fact]
    public async Task Random_bodies_for_every_api_and_version_never_take_the_broker_down()
    {
        var random = new Random(20261125); // fixed seed: a failure reproduces
        var sent = 0;
        foreach (var (key, min, max) in ApiKey.Supported)
            for (var version = min; version <= max; version++)
                for (var i = 0; i < 8; i++)
                {
                    var body = new byte[random.Next(0, 96)];
                    random.NextBytes(body);
                    // Small positive lengths now and then, so parsing gets past the first field.
                    for (var j = 0; j + 1 < body.Length; j += 7) if (random.Next(3) == 0) { body[j] = 0; body[j + 1] = (byte)random.Next(0, 6); }
                    using var client = await RawClient.ConnectAsync(kafka.Port);
                    try { await client.SendAsync(RawClient.Request(key, (short)version, i, body)); sent++; }
                    catch (IOException) { } // the broker may already have closed on us
                    catch (SocketException) { }
                }
        Assert.True(sent > 300);

        // Still serving, and still a working Kafka broker for a real client.
        using var check = await RawClient.ConnectAsync(kafka.Port);
        await check.SendAsync(RawClient.Request(18, 0, 77, []));
        var response = await check.ReceiveAsync();
        Assert.NotNull(response);
        Assert.Equal(77, BinaryPrimitives.ReadInt32BigEndian(response));
        var topic = KafkaClients.Unique("after-fuzz");
        Produce.Values(kafka.BootstrapServers, topic, 0, 10);
        // Bad input is rejected by the codecs, never by a crash inside a handler.
        Assert.DoesNotContain(kafka.LogLines, l => l.Contains("internal error", StringComparison.Ordinal));
    }
}
