using ConsoleAppFramework;
using Payrail.Cli;

var app = ConsoleApp.Create();
app.Add<PlatformCommands>();
app.Run(args);
