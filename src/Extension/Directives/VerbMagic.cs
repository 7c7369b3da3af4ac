using Ckpt.Verbs;

namespace Ckpt.Extension.Directives;

/// <summary>
/// The one shape of a magic made from a Kernel <see cref="Verb"/>: its directive is declared from the verb
/// (<see cref="VerbDirective.Create"/>), `--name` is checked before any work, the handler runs with the line's values
/// (<see cref="VerbMagicCall"/>), and one error policy answers for every magic: a stopped cell fails with the magic's
/// own sentence, any other failure with the one sentence the CLI prints for it (<see cref="MagicFailure"/>), and what
/// the handler returns is bound to the C# variable `--name` names.
/// </summary>
static class VerbMagic
{
    /// <summary>What a stopped magic says when its result would have been bound to `--name`.</summary>
    public const string NothingBound = "stopped before it finished; nothing was bound";

    /// <param name="stopped">The sentence for a stopped cell; null to word it as any other failure.</param>
    public static void AddVerbMagic<T>(this Kernel kernel, Verb verb, Func<VerbMagicCall, Task<object?>> handle,
        string? stopped = NothingBound) where T : KernelDirectiveCommand =>
        kernel.AddMagic<T>(VerbDirective.Create(verb), (command, context) => RunAsync(new VerbMagicCall(verb, command, context), handle, stopped));

    /// <summary>
    /// The common case: the verb's Kernel binding makes the request, <paramref name="run"/> is the one Kernel call (on a
    /// worker thread, with the cell's cancellation token), <paramref name="show"/> displays its result, which is bound to `--name`.
    /// </summary>
    public static void AddVerbMagic<T, TRequest, TResult>(this Kernel kernel, Verb verb,
        Func<IReadOnlyDictionary<string, IReadOnlyList<string>>, TRequest> bind, Func<TRequest, CancellationToken, TResult> run,
        Action<VerbMagicCall, TResult> show) where T : KernelDirectiveCommand where TResult : notnull =>
        kernel.AddVerbMagic<T>(verb, async call =>
        {
            var request = call.Bind(bind);
            var result = await call.Run(() => run(request, call.CancellationToken));
            show(call, result);
            return result;
        });

    static async Task RunAsync(VerbMagicCall call, Func<VerbMagicCall, Task<object?>> handle, string? stopped)
    {
        var name = call.Text("--name");
        if (name is not null && !VariableName.IsValid(name))
        {
            call.Context.Fail(call.Command, message: $"'{name}' is not a valid C# variable name for --name.");
            return;
        }
        object? result;
        try { result = await handle(call); }
        catch (OperationCanceledException) when (stopped is not null)
        {
            call.Context.Fail(call.Command, message: stopped);
            return;
        }
        catch (Exception e)
        {
            MagicFailure.Fail(call.Context, call.Command, e, call.Verb.Magic!);
            return;
        }
        if (result is not null) await CSharpVariable.BindForMagicAsync(call.Command, call.Context, name, result);
    }
}

/// <summary>One run of a verb's magic: the values its own line gives (<see cref="VerbDirective.Values"/>) and the cell it answers.</summary>
sealed class VerbMagicCall(Verb verb, KernelCommand command, KernelInvocationContext context)
{
    public Verb Verb => verb;
    public KernelCommand Command => command;
    public KernelInvocationContext Context => context;
    public CancellationToken CancellationToken => context.CancellationToken;
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Values { get; } = VerbDirective.Values(verb, command);

    /// <summary>The request the verb's Kernel binding makes of the values, once their positional count is checked
    /// (<see cref="VerbDirective.Positional"/>: the magic's own sentence when it is wrong).</summary>
    public TRequest Bind<TRequest>(Func<IReadOnlyDictionary<string, IReadOnlyList<string>>, TRequest> bind)
    {
        if (verb.Options.Any(o => o.Positional)) VerbDirective.Positional(verb, Values);
        return bind(Values);
    }

    /// <summary>The last value of an option the Kernel does not bind (`--name`), or null.</summary>
    public string? Text(string option) => VerbDirective.Text(Values, option);

    /// <summary>Kernel work on a worker thread, with the cell's cancellation token.</summary>
    public Task<TResult> Run<TResult>(Func<TResult> work) => Task.Run(work, context.CancellationToken);

    public void Show(string html) => context.DisplayAs(html, HtmlFormatter.MimeType);

    /// <summary>Renders the Kernel's chart input through Ckpt.Charts and publishes the charts.</summary>
    public void Chart(string kind, JsonObject input) => ChartOutput.Publish(context, ChartRendering.Render(kind, input));
}
