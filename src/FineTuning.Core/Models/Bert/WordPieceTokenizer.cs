using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace FineTuning.Models.Bert;

/// <summary>
/// BERT's tokenizer: basic tokenization (clean, CJK isolation, lower-case and accent stripping, punctuation
/// splitting) then greedy longest-match-first WordPiece with <c>##</c> continuations, as Hugging Face's
/// <c>BertTokenizer</c> (https://github.com/google-research/bert/blob/master/tokenization.py). Special-token
/// strings inside the text (e.g. "[SEP]") are tokenized as ordinary text.
/// </summary>
public sealed class WordPieceTokenizer
{
    private const int MaxInputCharsPerWord = 100;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _tokens;
    private readonly bool _lowerCase;

    /// <summary>Creates a tokenizer from the lines of a <c>vocab.txt</c> (line index = token id).</summary>
    /// <param name="vocabulary">One token per entry, in id order.</param>
    /// <param name="lowerCase">Lower-case and strip accents, as uncased BERT models need.</param>
    /// <exception cref="FineTuningException">A special token ([CLS], [SEP], [PAD], [UNK]) is missing.</exception>
    public WordPieceTokenizer(IEnumerable<string> vocabulary, bool lowerCase = true)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _tokens = vocabulary.ToArray();
        _vocab = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Length; i++) _vocab[_tokens[i]] = i; // a repeated token keeps its last id, as HF
        _lowerCase = lowerCase;
        ClsId = SpecialId("[CLS]");
        SepId = SpecialId("[SEP]");
        PadId = SpecialId("[PAD]");
        UnkId = SpecialId("[UNK]");
    }

    /// <summary>Id of [CLS], which starts every sequence.</summary>
    public int ClsId { get; }

    /// <summary>Id of [SEP], which ends every segment.</summary>
    public int SepId { get; }

    /// <summary>Id of [PAD], used to pad batches.</summary>
    public int PadId { get; }

    /// <summary>Id of [UNK], for words WordPiece cannot cover.</summary>
    public int UnkId { get; }

    /// <summary>Number of tokens in the vocabulary.</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>Reads a <c>vocab.txt</c> file (UTF-8, one token per line).</summary>
    /// <param name="path">The file.</param>
    /// <param name="lowerCase">Lower-case and strip accents.</param>
    public static WordPieceTokenizer FromVocabFile(string path, bool lowerCase = true) =>
        new(ParseVocabulary(File.ReadAllText(path, Encoding.UTF8)), lowerCase);

    /// <summary>Splits the text of a <c>vocab.txt</c> into tokens (trailing line breaks removed).</summary>
    /// <param name="text">The whole file.</param>
    public static IReadOnlyList<string> ParseVocabulary(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>The token string of <paramref name="id"/>.</summary>
    /// <param name="id">A token id.</param>
    public string TokenOf(int id) => _tokens[id];

    /// <summary>WordPiece tokens of <paramref name="text"/>, without special tokens.</summary>
    /// <param name="text">Any text.</param>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        foreach (string word in BertTextNormalizer.Split(text, _lowerCase)) AppendWordPieces(word, pieces);
        return pieces;
    }

    /// <summary>Encodes one text as <c>[CLS] tokens [SEP]</c>, truncating the tokens to fit <paramref name="maxLength"/>.</summary>
    /// <param name="text">Any text.</param>
    /// <param name="maxLength">The longest result, special tokens included (at least 2).</param>
    public BertEncoding Encode(string text, int maxLength = 512)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        List<int> ids = Ids(text);
        if (ids.Count > maxLength - 2) ids.RemoveRange(maxLength - 2, ids.Count - (maxLength - 2));
        ids.Insert(0, ClsId);
        ids.Add(SepId);
        return new BertEncoding(ids.ToArray(), new int[ids.Count]);
    }

    /// <summary>
    /// Encodes a pair as <c>[CLS] a [SEP] b [SEP]</c> with token types 0 then 1, truncating the longer side first
    /// (HF's "longest_first") to fit <paramref name="maxLength"/>.
    /// </summary>
    /// <param name="first">The first segment.</param>
    /// <param name="second">The second segment.</param>
    /// <param name="maxLength">The longest result, special tokens included (at least 3).</param>
    public BertEncoding Encode(string first, string second, int maxLength = 512)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 3);
        List<int> a = Ids(first), b = Ids(second);
        while (a.Count + b.Count > maxLength - 3)
        {
            List<int> longer = a.Count > b.Count ? a : b;
            longer.RemoveAt(longer.Count - 1);
        }
        var ids = new List<int>(a.Count + b.Count + 3) { ClsId };
        ids.AddRange(a);
        ids.Add(SepId);
        ids.AddRange(b);
        ids.Add(SepId);
        int[] types = new int[ids.Count];
        Array.Fill(types, 1, a.Count + 2, b.Count + 1);
        return new BertEncoding(ids.ToArray(), types);
    }

    /// <summary>Encodes each text and pads the batch to its longest member with [PAD].</summary>
    /// <param name="texts">The texts of the batch.</param>
    /// <param name="maxLength">The longest sequence, special tokens included.</param>
    public BertBatch EncodeBatch(IReadOnlyList<string> texts, int maxLength = 512)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return new BertBatch(texts.Select(t => Encode(t, maxLength)).ToArray(), PadId);
    }

    private List<int> Ids(string text) => Tokenize(text).Select(t => _vocab[t]).ToList();

    private void AppendWordPieces(string word, List<string> pieces)
    {
        // Greedy longest-match-first over code points; a word with any uncovered part becomes one [UNK].
        int[] starts = word.EnumerateRunes().Select(r => r.Utf16SequenceLength).Prepend(0).ToArray();
        for (int i = 1; i < starts.Length; i++) starts[i] += starts[i - 1];
        int runes = starts.Length - 1;
        string unk = _tokens[UnkId];
        if (runes > MaxInputCharsPerWord)
        {
            pieces.Add(unk);
            return;
        }
        int before = pieces.Count;
        for (int start = 0; start < runes;)
        {
            int end = runes;
            string? match = null;
            for (; end > start; end--)
            {
                string piece = word[starts[start]..starts[end]];
                if (start > 0) piece = "##" + piece;
                if (_vocab.ContainsKey(piece))
                {
                    match = piece;
                    break;
                }
            }
            if (match is null)
            {
                pieces.RemoveRange(before, pieces.Count - before);
                pieces.Add(unk);
                return;
            }
            pieces.Add(match);
            start = end;
        }
    }

    private int SpecialId(string token) =>
        _vocab.TryGetValue(token, out int id) ? id : throw new FineTuningException($"The vocabulary has no '{token}' token.");
}
