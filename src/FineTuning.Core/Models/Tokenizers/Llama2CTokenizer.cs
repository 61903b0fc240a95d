using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FineTuning.Models.Tokenizers;

/// <summary>
/// The SentencePiece-style BPE tokenizer of llama2.c (<c>tokenizer.bin</c>, <c>tok512.bin</c>), encoding and
/// decoding exactly as llama2.c's run.c: <c>encode</c> maps characters (or their UTF-8 bytes, via the
/// byte-fallback tokens 3..258) to pieces and then repeatedly merges the adjacent pair whose concatenation
/// has the highest score.
/// File format: int32 max_token_length, then per token float32 score, int32 byte length, bytes.
/// </summary>
public sealed class Llama2CTokenizer : IContinuationTokenizer
{
    private const int ByteTokenOffset = 3;
    private readonly byte[][] pieces;
    private readonly float[] scores;
    private readonly Dictionary<string, int> lookup; // Latin-1 view of the piece bytes -> first id with those bytes

    private Llama2CTokenizer(byte[][] pieces, float[] scores)
    {
        this.pieces = pieces;
        this.scores = scores;
        lookup = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int i = 0; i < pieces.Length; i++)
        {
            lookup.TryAdd(Encoding.Latin1.GetString(pieces[i]), i);
        }
    }

    /// <inheritdoc />
    public int VocabSize => pieces.Length;

    /// <inheritdoc />
    public int BosId => 1;

    /// <inheritdoc />
    public int EosId => 2;

    /// <summary>Reads a llama2.c tokenizer file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="vocabSize">Number of tokens to read (llama2.c takes it from the checkpoint); null reads to the end of the file.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="Models.ModelFileException">The file is truncated or holds impossible lengths.</exception>
    public static Llama2CTokenizer Load(string path, int? vocabSize = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (vocabSize is <= ByteTokenOffset + 255) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "a llama2.c vocabulary holds at least the 3 special and 256 byte tokens.");
        using FileStream stream = ModelFileStream.OpenRead(path);
        using var reader = new BinaryReader(stream);
        try
        {
            int maxTokenLength = reader.ReadInt32();
            if (maxTokenLength <= 0 || maxTokenLength > 1 << 16)
            {
                throw new ModelFileException(path, $"not a llama2.c tokenizer: max_token_length={maxTokenLength}.", null);
            }

            var pieces = new List<byte[]>();
            var scores = new List<float>();
            while (vocabSize is null ? stream.Position < stream.Length : pieces.Count < vocabSize)
            {
                float score = reader.ReadSingle();
                int length = reader.ReadInt32();
                if (length < 0 || length > maxTokenLength)
                {
                    throw new ModelFileException(path, $"token {pieces.Count} has length {length}, outside 0..{maxTokenLength}.", null);
                }

                byte[] bytes = reader.ReadBytes(length);
                if (bytes.Length < length) throw new EndOfStreamException();
                pieces.Add(bytes);
                scores.Add(score);
            }

            if (pieces.Count <= ByteTokenOffset + 255)
            {
                throw new ModelFileException(path, $"only {pieces.Count} tokens; a llama2.c vocabulary holds at least the 3 special and 256 byte tokens.", null);
            }

            return new Llama2CTokenizer(pieces.ToArray(), scores.ToArray());
        }
        catch (EndOfStreamException e)
        {
            throw new ModelFileException(path, $"truncated llama2.c tokenizer at byte {stream.Position} of {stream.Length}.", e);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos) => Encode(text, addBos, addEos: false);

    /// <summary>Encodes as llama2.c's <c>encode(t, text, bos, eos, ...)</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addBos">Prepend BOS (1).</param>
    /// <param name="addEos">Append EOS (2).</param>
    /// <returns>The ids.</returns>
    public IReadOnlyList<int> Encode(string text, bool addBos, bool addEos) => Encode(text, addBos, addEos, dummyPrefix: true);

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeContinuation(string text) => Encode(text, addBos: false, addEos: false, dummyPrefix: false);

    private List<int> Encode(string text, bool addBos, bool addEos, bool dummyPrefix, bool merge = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<int>();
        if (addBos) tokens.Add(BosId);
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        if (utf8.Length > 0 && dummyPrefix)
        {
            // SentencePiece's add_dummy_prefix: the text starts as if after a space.
            tokens.Add(lookup.TryGetValue(" ", out int space) ? space : ' ' + ByteTokenOffset);
        }

        // One code point at a time (its UTF-8 bytes: a lead byte and up to 3 continuation bytes, as run.c).
        int start = 0;
        while (start < utf8.Length)
        {
            int end = start + 1;
            while (end < utf8.Length && (utf8[end] & 0xC0) == 0x80 && end - start < 4) end++;
            string piece = Encoding.Latin1.GetString(utf8, start, end - start);
            if (lookup.TryGetValue(piece, out int id))
            {
                tokens.Add(id);
            }
            else
            {
                for (int i = start; i < end; i++) tokens.Add(utf8[i] + ByteTokenOffset);
            }

            start = end;
        }

        if (merge) MergePairs(tokens);
        if (addEos) tokens.Add(EosId);
        return tokens;
    }

    /// <summary>The ids before any merge (one per code point, or its bytes), as the first stage of <see cref="Encode(string, bool, bool)"/>.</summary>
    internal List<int> Pieces(string text, bool addBos, bool dummyPrefix) => Encode(text, addBos, addEos: false, dummyPrefix, merge: false);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        int previous = -1;
        foreach (int id in ids)
        {
            if (id < 0 || id >= pieces.Length) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside 0..{pieces.Length - 1}.");
            AppendPiece(bytes, previous, id);
            previous = id;
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The piece of <paramref name="id"/> as stored (byte tokens as <c>&lt;0xNN&gt;</c>).</summary>
    /// <param name="id">Token id.</param>
    /// <returns>The piece, decoded as UTF-8.</returns>
    public string Piece(int id) => Encoding.UTF8.GetString(pieces[id]);

    /// <summary>
    /// This vocabulary as a Hugging Face <c>tokenizer.json</c> (BPE with byte fallback and the <c>▁</c> word marker, as
    /// HF's LLaMA tokenizer): <see cref="HfTokenizer"/> and the tokenizers library encode text to the same ids as
    /// <see cref="Encode(string, bool)"/>, except for text that spells a special token (<c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>,
    /// <c>&lt;unk&gt;</c>: one id there, characters here) or holds the marker character U+2581 itself.
    /// </summary>
    /// <returns>The JSON text.</returns>
    /// <exception cref="NotSupportedException">Two pieces differ only by a space versus U+2581.</exception>
    public string ToTokenizerJson() =>
        Llama2CTokenizerJson.TokenizerJson(pieces, scores).ToJsonString(new System.Text.Json.JsonSerializerOptions(Json.JsonReflection.Options(indented: true)) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    /// <summary>The merge score of <paramref name="id"/> (higher merges first).</summary>
    /// <param name="id">Token id.</param>
    /// <returns>The score stored in the file.</returns>
    public float Score(int id) => scores[id];

    /// <summary>llama2.c's <c>decode(t, prev, token)</c>, with BOS/EOS producing nothing.</summary>
    private void AppendPiece(List<byte> output, int previous, int id)
    {
        if (id == BosId || id == EosId) return;
        ReadOnlySpan<byte> piece = pieces[id];
        // After BOS SentencePiece strips the dummy-prefix space.
        if (previous == BosId && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
        if (TryParseByteToken(piece, out byte value))
        {
            output.Add(value);
            return;
        }

        foreach (byte b in piece) output.Add(b);
    }

    private static bool TryParseByteToken(ReadOnlySpan<byte> piece, out byte value)
    {
        value = 0;
        if (piece.Length != 6 || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x' || piece[5] != '>') return false;
        return byte.TryParse(Encoding.ASCII.GetString(piece[3..5]), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }

    /// <summary>
    /// Repeatedly merges the adjacent pair whose concatenation is a piece with the highest score, taking the
    /// leftmost pair on ties (run.c scans left to right with a strict comparison, starting from -1e10, so a pair
    /// scoring -1e10 or less, or NaN, is never merged). Instead of run.c's full scan per merge (quadratic), the
    /// candidate pairs wait in a priority queue ordered by (score descending, position ascending) over a linked
    /// list of tokens; an entry made stale by a neighbouring merge is recognised by its version and dropped.
    /// Same merges in the same order as the scan, in O(n log n).
    /// </summary>
    /// <returns>The number of queue operations (pushes and pops), a measure of the work done.</returns>
    internal long MergePairs(List<int> tokens)
    {
        int n = tokens.Count;
        if (n < 2) return 0;
        int[] value = tokens.ToArray();
        int[] next = new int[n], prev = new int[n], version = new int[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }

        var queue = new PriorityQueue<(int Left, int Version, int Merged), (float Score, int Position)>(n, PairOrder.Instance);
        long operations = 0;

        void Offer(int left)
        {
            int right = next[left];
            if (right < 0) return;
            int merged = MergedId(value[left], value[right]);
            if (merged < 0 || !(scores[merged] > -1e10f)) return;
            queue.Enqueue((left, version[left], merged), (scores[merged], left));
            operations++;
        }

        for (int i = 0; i + 1 < n; i++) Offer(i);
        while (queue.TryDequeue(out (int Left, int Version, int Merged) pair, out _))
        {
            operations++;
            int left = pair.Left;
            if (version[left] != pair.Version) continue; // left was merged away or its pair changed since
            int right = next[left];
            value[left] = pair.Merged;
            version[left]++;
            version[right]++; // right disappears: its own pending pair is stale
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0)
            {
                version[prev[left]]++;
                Offer(prev[left]);
            }

            Offer(left);
        }

        tokens.Clear();
        for (int i = 0; i >= 0; i = next[i]) tokens.Add(value[i]);
        return operations;
    }

    /// <summary>Higher score first; on equal scores (compared as run.c does, with &gt;) the leftmost pair.</summary>
    private sealed class PairOrder : IComparer<(float Score, int Position)>
    {
        internal static readonly PairOrder Instance = new();

        public int Compare((float Score, int Position) x, (float Score, int Position) y) =>
            x.Score > y.Score ? -1 : y.Score > x.Score ? 1 : x.Position.CompareTo(y.Position);
    }

    private int MergedId(int left, int right) =>
        lookup.TryGetValue(Encoding.Latin1.GetString(pieces[left]) + Encoding.Latin1.GetString(pieces[right]), out int id) ? id : -1;
}
