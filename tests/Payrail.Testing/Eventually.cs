namespace Payrail.Testing;

/// <summary>Waits on a condition with a deadline: the only way tests synchronise with background work.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan deadline, string because)
    {
        var until = DateTime.UtcNow + deadline;
        var pollMs = 10;
        while (true)
        {
            if (await condition()) return;
            if (DateTime.UtcNow >= until) throw new TimeoutException($"not true within {deadline.TotalSeconds:0.#} s: {because}");
            await Task.Delay(pollMs);
            pollMs = Math.Min(pollMs * 2, 250);
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan deadline, string because) =>
        TrueAsync(() => Task.FromResult(condition()), deadline, because);
}
