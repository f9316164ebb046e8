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
// SIGTERM (payrail up stopping, systemd, docker) shuts down as cleanly as Ctrl-C.
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM,
    context => { context.Cancel = true; stop.Cancel(); });
await using (await DevKafkaBroker.StartAsync(options))
{
    try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
}
return 0;
