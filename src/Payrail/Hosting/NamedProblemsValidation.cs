using Microsoft.Extensions.Options;

namespace Payrail.Hosting;

/// <summary>Validates options with their own <c>Problems()</c>, each failure naming its setting (StripeConnectorOptions' model).</summary>
public sealed class NamedProblemsValidation<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var found = problems(options).ToList();
        return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
    }
}
