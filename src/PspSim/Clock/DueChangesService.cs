namespace PspSim.Clock;

/// <summary>Runs <see cref="DueChanges"/> every <see cref="PspSimOptions.DueChangesTickMs"/>; silent when idle.</summary>
public sealed class DueChangesService(Storage.SimStore store, PspSimOptions options, ILogger<DueChangesService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var consumed = DueChanges.RunOnce(store, options.MaxDueChangesPerTick, options);
            if (consumed > 0) log.LogInformation("{Count} due changes made (async refunds and cards, expired authorizations)", consumed);
            // A full round may have left more due: go again at once.
            if (consumed == options.MaxDueChangesPerTick) continue;
            try { await Task.Delay(options.DueChangesTickMs, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
