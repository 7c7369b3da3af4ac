namespace Ckpt.Forensics.Restor.Toy;

/// <summary>
/// `ckpt restor-toy`: builds the toy's clean and corrupted models, facts and unlearning data (<see cref="RestorToy"/>).
/// It has no magic: a notebook calls <see cref="RestorToy.Build"/> and shows its losses (notebooks/06-restor.ipynb).
/// </summary>
public static class RestorToyVerb
{
    public static readonly Verb Definition = Verb.Of<RestorToyOptions>("restor-toy", null,
        "Build the RESTOR toy: a micro LLaMA pre-trained on synthetic facts (clean), then trained on swapped facts (corrupted), with facts.jsonl and the unlearning data.",
        [VerbOption.CliJson("Print the result as JSON.")]) with
    {
        OneSurfaceReason = "it builds the toy for a terminal script (scripts/restor-toy.sh); notebook 06 calls RestorToy.Build directly",
    };

    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static RestorToyOptions Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given) => Definition.Bind<RestorToyOptions>(given);
}
