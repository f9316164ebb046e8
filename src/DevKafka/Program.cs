using DevKafka;
using DevKafka.Broker;

// devkafka [--port 9092] [--data-dir .payrail/kafka] [--partitions 6] [--fsync acks-all|every-ack|never]
if (!CommandLine.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
await using (await DevKafkaBroker.StartAsync(options))
{
    try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
}
return 0;
