using System.Globalization;
using DevKafka.Broker;

namespace DevKafka;

/// <summary>Parses devkafka's few options into <see cref="DevKafkaOptions"/>.</summary>
public static class CommandLine
{
    public const string Usage = "usage: devkafka [--port 9092] [--data-dir .payrail/kafka] [--partitions 6] [--fsync acks-all|every-ack|never] [--retention-bytes N] [--retention-hours N]";

    public static bool TryParse(string[] args, out DevKafkaOptions options, out string error)
    {
        options = new DevKafkaOptions();
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            if (i + 1 >= args.Length) { error = $"missing value for {args[i]}"; return false; }
            var value = args[++i];
            var number = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : (long?)null;
            switch (args[i - 1])
            {
                case "--port" when number is >= 0 and <= 65535: options = options with { Port = (int)number }; break;
                case "--data-dir": options = options with { DataDirectory = value }; break;
                case "--partitions" when number is >= 1 and <= 1000: options = options with { DefaultPartitions = (int)number }; break;
                case "--retention-bytes" when number is >= -1: options = options with { RetentionBytes = number.Value }; break;
                case "--retention-hours" when number is >= 1: options = options with { RetentionAge = TimeSpan.FromHours(number.Value) }; break;
                case "--fsync" when value is "acks-all": options = options with { Fsync = FsyncPolicy.BeforeAcksAll }; break;
                case "--fsync" when value is "every-ack": options = options with { Fsync = FsyncPolicy.BeforeEveryAck }; break;
                case "--fsync" when value is "never": options = options with { Fsync = FsyncPolicy.Never }; break;
                default: error = $"bad option {args[i - 1]} {value}"; return false;
            }
        }
        return true;
    }
}
