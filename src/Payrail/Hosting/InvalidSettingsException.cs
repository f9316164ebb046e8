namespace Payrail.Hosting;

/// <summary>
/// A configuration value a role cannot start with. The message names each broken setting and why
/// (<c>Postgres:ConnectionString: ...</c>) and never echoes a secret. <see cref="RoleCommand"/> prints it without a stack
/// trace: the operator's fix is in the configuration, not in the code.
/// </summary>
public sealed class InvalidSettingsException(IReadOnlyList<string> problems)
    : InvalidOperationException(string.Join(Environment.NewLine, problems))
{
    public InvalidSettingsException(string problem) : this([problem])
    {
    }

    public IReadOnlyList<string> Problems { get; } = problems;

    /// <summary>Throws when <paramref name="problems"/> holds any.</summary>
    public static void ThrowIfAny(IEnumerable<string> problems)
    {
        var list = problems.ToList();
        if (list.Count > 0) throw new InvalidSettingsException(list);
    }

    /// <summary>
    /// Binds a section, turning the binder's conversion failure ("Failed to convert configuration value at
    /// 'Postgres:Worker:MaxPoolSize'...") into a named problem.
    /// </summary>
    public static T Bind<T>(IConfiguration configuration, string sectionName) where T : new()
    {
        try
        {
            return configuration.GetSection(sectionName).Get<T>() ?? new T();
        }
        catch (InvalidOperationException e) when (e is not InvalidSettingsException)
        {
            throw new InvalidSettingsException(e.Message);
        }
    }
}
