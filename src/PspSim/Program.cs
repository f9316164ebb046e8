// pspsim: Stripe-compatible PSP sandbox. Usage: pspsim [--urls http://127.0.0.1:8090] [--data-dir DIR]
PspSim.PspSimApp.Build(args).Run();
