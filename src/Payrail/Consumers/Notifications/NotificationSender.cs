using System.Text;

namespace Payrail.Consumers.Notifications;

/// <summary>
/// Hands a stored message on (a file locally; SMTP or a provider's API in production, behind this interface). Called
/// after the message's row committed and again on every redelivery until the row says sent: an implementation must be
/// idempotent by <see cref="NotificationMessage.Id"/> (a provider's idempotency key, a file name).
/// </summary>
public interface INotificationSender
{
    Task SendAsync(NotificationMessage message, CancellationToken cancellationToken);
}

/// <summary>The default sender: one file per message under <c>.payrail/mail/</c>, named by the message id.</summary>
public sealed class FileNotificationSender(ConsumersOptions options) : INotificationSender
{
    private readonly string _directory = options.Notifications.ResolvedMailDirectory;

    public string PathOf(Guid messageId) => Path.Combine(_directory, messageId.ToString("N") + ".eml");

    public Task SendAsync(NotificationMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(message.Id);
        if (File.Exists(path)) return Task.CompletedTask;
        Directory.CreateDirectory(_directory);
        var text = new StringBuilder()
            .Append("Message-Id: <").Append(message.Id.ToString("N")).Append("@payrail.local>\n")
            .Append("To: ").Append(message.Recipient).Append('\n')
            .Append("Subject: ").Append(message.Subject).Append('\n')
            .Append("X-Payrail-Template: ").Append(message.Template).Append('\n')
            .Append("X-Payrail-Payment: ").Append(message.PaymentId?.ToString() ?? "none").Append('\n')
            .Append('\n').Append(message.Body).ToString();
        // Written beside, then renamed: a reader never sees half a message, and a crash leaves no file to skip.
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        // Synchronous: a few hundred bytes to the page cache; the async form cost two thread-pool hops per message.
        File.WriteAllText(temporary, text);
        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary); // another delivery wrote it first
        }
        return Task.CompletedTask;
    }
}
