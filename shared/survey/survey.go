// Package survey holds the daily and weekly surveys (日次調査・週次調査)
// every institution reports: their fields and validation, the JST days and
// ISO weeks they are kept by, and the Service that reads, writes, copies
// forward and lists who has not answered. Storage is behind Store.
package survey

// Service statuses (診療の状況) of outpatient, inpatient, emergency and surgery.
const (
	StatusNormal  = "normal"  // 通常
	StatusLimited = "limited" // 制限
	StatusStopped = "stopped" // 停止
)

// Staffing levels (職員の充足状況).
const (
	StaffNormal    = "normal"    // 通常
	StaffShort     = "short"     // 欠員あり
	StaffExhausted = "exhausted" // 枯渇
)

var serviceChoices = []Choice{{StatusNormal, "通常"}, {StatusLimited, "制限"}, {StatusStopped, "停止"}}
var staffChoices = []Choice{{StaffNormal, "通常"}, {StaffShort, "欠員あり"}, {StaffExhausted, "枯渇"}}

// Daily is one institution's daily survey (日次調査) for one JST day.
type Daily struct {
	Services Services `json:"services" dynamodbav:"services"`
	Staffing string   `json:"staffing" dynamodbav:"staffing"`
	Beds     Beds     `json:"beds" dynamodbav:"beds"`
	Patients Patients `json:"patients" dynamodbav:"patients"`
	Tests    Tests    `json:"tests" dynamodbav:"tests"`
	Flags    Flags    `json:"flags" dynamodbav:"flags"`
}

// Services is the state (通常・制限・停止) of each service.
type Services struct {
	Outpatient string `json:"outpatient" dynamodbav:"outpatient"` // 外来
	Inpatient  string `json:"inpatient" dynamodbav:"inpatient"`   // 入院
	Emergency  string `json:"emergency" dynamodbav:"emergency"`   // 救急
	Surgery    string `json:"surgery" dynamodbav:"surgery"`       // 手術
}

// Beds is 病床の状況.
type Beds struct {
	Permitted      int64 `json:"permitted" dynamodbav:"permitted"`           // 許可病床数
	CovidSecured   int64 `json:"covidSecured" dynamodbav:"covidSecured"`     // 新型コロナ確保病床数
	CovidOccupied  int64 `json:"covidOccupied" dynamodbav:"covidOccupied"`   // うち使用中
	CovidAvailable int64 `json:"covidAvailable" dynamodbav:"covidAvailable"` // 受入可能数
	ICU            int64 `json:"icu" dynamodbav:"icu"`                       // ICU病床数
	ICUOccupied    int64 `json:"icuOccupied" dynamodbav:"icuOccupied"`       // うちICU使用中
}

// Patients is 新型コロナウイルス感染症患者の入退院状況.
type Patients struct {
	Confirmed     int64 `json:"confirmed" dynamodbav:"confirmed"`         // 入院中（確定）
	Suspected     int64 `json:"suspected" dynamodbav:"suspected"`         // 入院中（疑い）
	Severe        int64 `json:"severe" dynamodbav:"severe"`               // うち重症（ICU）
	Ventilator    int64 `json:"ventilator" dynamodbav:"ventilator"`       // うち人工呼吸器
	ECMO          int64 `json:"ecmo" dynamodbav:"ecmo"`                   // うちECMO
	NewAdmissions int64 `json:"newAdmissions" dynamodbav:"newAdmissions"` // 前日からの新規入院
}

// Tests is 検査実施状況 and the fever outpatients seen.
type Tests struct {
	Tested              int64 `json:"tested" dynamodbav:"tested"`                           // 検査実施人数
	PCR                 int64 `json:"pcr" dynamodbav:"pcr"`                                 // うちPCR検査
	AntigenQuantitative int64 `json:"antigenQuantitative" dynamodbav:"antigenQuantitative"` // うち抗原定量検査
	AntigenQualitative  int64 `json:"antigenQualitative" dynamodbav:"antigenQualitative"`   // うち抗原定性検査（簡易キット）
	FeverOutpatients    int64 `json:"feverOutpatients" dynamodbav:"feverOutpatients"`       // 発熱外来患者数
}

// Flags is 基本情報's check boxes.
type Flags struct {
	DesignatedClinic bool `json:"designatedClinic" dynamodbav:"designatedClinic"` // 診療・検査医療機関
	PCRAvailable     bool `json:"pcrAvailable" dynamodbav:"pcrAvailable"`         // PCR検査実施の可否（可能）
}

func count[T any](path, label string, get func(*T) *int64) field[T] {
	return field[T]{path: path, label: label, kind: kindCount, count: get}
}

func enum[T any](path, label string, choices []Choice, get func(*T) *string) field[T] {
	return field[T]{path: path, label: label, kind: kindEnum, choices: choices, text: get}
}

func flag[T any](path, label string, get func(*T) *bool) field[T] {
	return field[T]{path: path, label: label, kind: kindFlag, flag: get}
}

// dailySchema is every field of the daily survey, in form order.
var dailySchema = schema[Daily]{
	fields: []field[Daily]{
		enum("services.outpatient", "外来の診療状況", serviceChoices, func(d *Daily) *string { return &d.Services.Outpatient }),
		enum("services.inpatient", "入院の診療状況", serviceChoices, func(d *Daily) *string { return &d.Services.Inpatient }),
		enum("services.emergency", "救急の受入状況", serviceChoices, func(d *Daily) *string { return &d.Services.Emergency }),
		enum("services.surgery", "手術の実施状況", serviceChoices, func(d *Daily) *string { return &d.Services.Surgery }),
		enum("staffing", "職員の充足状況", staffChoices, func(d *Daily) *string { return &d.Staffing }),
		count("beds.permitted", "許可病床数", func(d *Daily) *int64 { return &d.Beds.Permitted }),
		count("beds.covidSecured", "新型コロナ確保病床数", func(d *Daily) *int64 { return &d.Beds.CovidSecured }),
		count("beds.covidOccupied", "確保病床のうち使用中", func(d *Daily) *int64 { return &d.Beds.CovidOccupied }),
		count("beds.covidAvailable", "新型コロナ患者受入可能数", func(d *Daily) *int64 { return &d.Beds.CovidAvailable }),
		count("beds.icu", "ICU病床数", func(d *Daily) *int64 { return &d.Beds.ICU }),
		count("beds.icuOccupied", "ICU病床のうち使用中", func(d *Daily) *int64 { return &d.Beds.ICUOccupied }),
		count("patients.confirmed", "入院中の患者（確定）", func(d *Daily) *int64 { return &d.Patients.Confirmed }),
		count("patients.suspected", "入院中の患者（疑い）", func(d *Daily) *int64 { return &d.Patients.Suspected }),
		count("patients.severe", "うち重症（ICU）", func(d *Daily) *int64 { return &d.Patients.Severe }),
		count("patients.ventilator", "うち人工呼吸器使用", func(d *Daily) *int64 { return &d.Patients.Ventilator }),
		count("patients.ecmo", "うちECMO使用", func(d *Daily) *int64 { return &d.Patients.ECMO }),
		count("patients.newAdmissions", "前日からの新規入院", func(d *Daily) *int64 { return &d.Patients.NewAdmissions }),
		count("tests.tested", "検査実施人数", func(d *Daily) *int64 { return &d.Tests.Tested }),
		count("tests.pcr", "うちPCR検査実施人数", func(d *Daily) *int64 { return &d.Tests.PCR }),
		count("tests.antigenQuantitative", "うち抗原定量検査実施人数", func(d *Daily) *int64 { return &d.Tests.AntigenQuantitative }),
		count("tests.antigenQualitative", "うち抗原定性検査（簡易キット）実施人数", func(d *Daily) *int64 { return &d.Tests.AntigenQualitative }),
		count("tests.feverOutpatients", "発熱外来の受診者数", func(d *Daily) *int64 { return &d.Tests.FeverOutpatients }),
		flag("flags.designatedClinic", "診療・検査医療機関", func(d *Daily) *bool { return &d.Flags.DesignatedClinic }),
		flag("flags.pcrAvailable", "PCR検査実施の可否", func(d *Daily) *bool { return &d.Flags.PCRAvailable }),
	},
	rules: []rule[Daily]{
		{part: "beds.covidOccupied", wholes: []string{"beds.covidSecured"}},
		{part: "beds.covidSecured", wholes: []string{"beds.permitted"}},
		{part: "beds.icuOccupied", wholes: []string{"beds.icu"}},
		{part: "patients.severe", wholes: []string{"patients.confirmed", "patients.suspected"}},
		{part: "patients.ventilator", wholes: []string{"patients.severe"}},
		{part: "patients.ecmo", wholes: []string{"patients.severe"}},
		{part: "tests.pcr", wholes: []string{"tests.tested"}},
		{part: "tests.antigenQuantitative", wholes: []string{"tests.tested"}},
		{part: "tests.antigenQualitative", wholes: []string{"tests.tested"}},
	},
}

// ParseDaily reads and checks a daily survey body: every broken rule is
// reported at once, each naming its field.
func ParseDaily(data []byte) (Input[Daily], error) { return decode(dailySchema, data) }

// Supply is a medical supply the weekly survey asks about. The codes are
// shared with the SOS requests, which ask for the same items.
type Supply string

// The supplies (医療用物資).
const (
	SurgicalMask     Supply = "surgical_mask"     // サージカルマスク
	N95Mask          Supply = "n95_mask"          // N95マスク（DS2を含む）
	IsolationGown    Supply = "isolation_gown"    // アイソレーションガウン
	FaceShield       Supply = "face_shield"       // フェイスシールド・ゴーグル
	NonSterileGloves Supply = "nonsterile_gloves" // 非滅菌手袋
)

// Supplies lists every supply in form order, with its Japanese name.
var Supplies = []Choice{
	{string(SurgicalMask), "サージカルマスク"},
	{string(N95Mask), "N95マスク（DS2を含む）"},
	{string(IsolationGown), "アイソレーションガウン"},
	{string(FaceShield), "フェイスシールド・ゴーグル"},
	{string(NonSterileGloves), "非滅菌手袋"},
}

// Stock outlooks (現在の在庫の備蓄見通し).
const (
	OutlookNone      = "none"          // なし（在庫なし）
	OutlookOneWeek   = "within_1_week" // 1週間以内
	OutlookTwoThree  = "2_3_weeks"     // 2〜3週間
	OutlookFourWeeks = "4_weeks_plus"  // 4週間以上
)

// Outlooks lists the stock outlooks with their Japanese labels.
var Outlooks = []Choice{{OutlookNone, "なし"}, {OutlookOneWeek, "1週間以内"}, {OutlookTwoThree, "2〜3週間"}, {OutlookFourWeeks, "4週間以上"}}

// Weekly is one institution's weekly survey (週次調査) for one ISO week.
type Weekly struct {
	Items map[Supply]*Stock `json:"items" dynamodbav:"items"`
}

// Stock is one supply's outlook and, optionally, the units in stock, used
// and bought that week.
type Stock struct {
	Outlook string `json:"outlook" dynamodbav:"outlook"`
	InStock *int64 `json:"inStock,omitempty" dynamodbav:"inStock,omitempty"`
	Used    *int64 `json:"used,omitempty" dynamodbav:"used,omitempty"`
	Bought  *int64 `json:"bought,omitempty" dynamodbav:"bought,omitempty"`
}

func stockOf(w *Weekly, s Supply) *Stock {
	if w.Items == nil {
		w.Items = map[Supply]*Stock{}
	}
	if w.Items[s] == nil {
		w.Items[s] = &Stock{}
	}
	return w.Items[s]
}

var weeklySchema = func() schema[Weekly] {
	var s schema[Weekly]
	for _, c := range Supplies {
		sup, base := Supply(c.Code), "items."+c.Code
		s.fields = append(s.fields,
			enum(base+".outlook", c.Label+"の備蓄見通し", Outlooks, func(w *Weekly) *string { return &stockOf(w, sup).Outlook }),
			field[Weekly]{path: base + ".inStock", label: c.Label + "の在庫数", kind: kindOptCount, opt: func(w *Weekly) **int64 { return &stockOf(w, sup).InStock }},
			field[Weekly]{path: base + ".used", label: c.Label + "の今週の使用数", kind: kindOptCount, opt: func(w *Weekly) **int64 { return &stockOf(w, sup).Used }},
			field[Weekly]{path: base + ".bought", label: c.Label + "の今週の購入数", kind: kindOptCount, opt: func(w *Weekly) **int64 { return &stockOf(w, sup).Bought }},
		)
	}
	return s
}()

// ParseWeekly reads and checks a weekly survey body.
func ParseWeekly(data []byte) (Input[Weekly], error) { return decode(weeklySchema, data) }
