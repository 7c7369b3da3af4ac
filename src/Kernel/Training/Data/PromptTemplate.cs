namespace Ckpt.Training.Data;

/// <summary>How a record's prompt text becomes the model's prompt.</summary>
public enum PromptTemplate
{
    /// <summary>
    /// Alpaca for instruction records ({"instruction","input","output"}); prompt-completion and preference prompts as
    /// written (TRL applies no template to non-conversational data); conversational records (lists of messages) through
    /// the model's chat template (tokenizer_config.json chat_template, or FineTuningOptions.ChatTemplate).
    /// </summary>
    Auto,
    /// <summary>The Alpaca (Stanford) template, as OpenBezoar's SFT stages use it; a "prompt" field is taken as the instruction.</summary>
    Alpaca,
    /// <summary>The prompt text exactly as written.</summary>
    None,
}

/// <summary>The Alpaca template text (tatsu-lab/stanford_alpaca train.py PROMPT_DICT).</summary>
public static class AlpacaTemplate
{
    public static string Format(string instruction, string? input) => string.IsNullOrEmpty(input)
        ? "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
          $"### Instruction:\n{instruction}\n\n### Response:\n"
        : "Below is an instruction that describes a task, paired with an input that provides further context. " +
          "Write a response that appropriately completes the request.\n\n" +
          $"### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";
}
