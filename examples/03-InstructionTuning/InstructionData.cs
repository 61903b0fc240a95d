using System.Collections.Generic;
using System.IO;
using System.Linq;
using FineTuning.Data;
using FineTuning.Data.Templates;
using FineTuning.Models;
using FineTuning.Models.Tokenizers;

namespace FineTuning.Examples.InstructionTuning;

/// <summary>
/// The example's data, prepared as it is trained: title requests read from JSONL, a plain-text template (stories260K
/// knows no chat markup; the answer and the EOS after it are learned), a seeded 80/20 split, 10% replay of general
/// stories, packing into rows of 256 tokens, and the handwritten held-out stories for perplexity. Shared with
/// examples/05-QLoRAComparison so both train on exactly the same rows.
/// </summary>
internal sealed class InstructionData
{
    public const int RowLength = 256;

    private InstructionData(IReadOnlyList<ChatExample> chats, IReadOnlyList<SkippedRecord> skipped, ChatLabeler labeler,
        DatasetSplit<ChatExample> split, LabelingResult train, int replayed, IReadOnlyList<PackedSequence> rows, IReadOnlyList<TokenSequence> heldOutText)
    {
        Chats = chats;
        Skipped = skipped;
        Labeler = labeler;
        Split = split;
        Train = train;
        Replayed = replayed;
        Rows = rows;
        HeldOutText = heldOutText;
    }

    /// <summary>Every conversation read (before the split).</summary>
    public IReadOnlyList<ChatExample> Chats { get; }

    /// <summary>Malformed records that were skipped.</summary>
    public IReadOnlyList<SkippedRecord> Skipped { get; }

    /// <summary>Template + tokenizer: labels training conversations and tokenizes prompts exactly as in training.</summary>
    public ChatLabeler Labeler { get; }

    /// <summary>The seeded split; <c>Validation</c> holds the held-out requests.</summary>
    public DatasetSplit<ChatExample> Split { get; }

    /// <summary>The labeled training conversations.</summary>
    public LabelingResult Train { get; }

    /// <summary>General stories mixed in as replay.</summary>
    public int Replayed { get; }

    /// <summary>The packed training rows.</summary>
    public IReadOnlyList<PackedSequence> Rows { get; }

    /// <summary>Handwritten held-out stories (the forgetting check).</summary>
    public IReadOnlyList<TokenSequence> HeldOutText { get; }

    public static InstructionData Load(string dataDir, ITokenizer tokenizer)
    {
        var skipped = new List<SkippedRecord>();
        List<ChatExample> chats = DataReader.Read(Path.Combine(dataDir, "title-stories.jsonl"), RecordFormats.OpenAIChat, MalformedRecordPolicy.SkipAndReport, skipped).ToList();
        var template = new CustomChatTemplate { Name = "Request/Story", UserPrefix = "Request: ", UserSuffix = "\n", AssistantPrefix = "", AssistantSuffix = "" };
        var labeler = new ChatLabeler(template, tokenizer, new LabelingOptions { MaxLength = RowLength });
        DatasetSplit<ChatExample> split = Datasets.Split(chats, validationFraction: 0.2, seed: 1);
        LabelingResult train = labeler.Label(split.Train);
        IReadOnlyList<TokenSequence> general = labeler.LabelTexts(DataReader.Read(Path.Combine(dataDir, "general-stories.jsonl"), RecordFormats.Text).Select(t => t.Text)).Sequences;
        IReadOnlyList<TokenSequence> mixed = Datasets.Mix(train.Sequences, general, replayFraction: 0.1, seed: 2);
        List<PackedSequence> rows = SequencePacker.Pack(mixed, maxLength: RowLength).ToList();
        IReadOnlyList<TokenSequence> heldOutText = labeler.LabelTexts(DataReader.Read(Path.Combine(dataDir, "heldout-stories.jsonl"), RecordFormats.Text).Select(t => t.Text)).Sequences;
        return new InstructionData(chats, skipped, labeler, split, train, mixed.Count - train.Sequences.Count, rows, heldOutText);
    }
}
