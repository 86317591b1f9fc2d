"""The words bot.core.story folds together: one concept per line of news vocabulary, in the languages the
story is reported in (English, German, French, Spanish, Portuguese, Japanese, Chinese, Korean,
Hindi). Data only.

Latin-script and Hindi forms are whole words (matched after folding case and accents); Japanese,
Chinese and Korean forms are matched inside the text, since those scripts do not put spaces between
words (or attach particles to them). A concept's name is the token it becomes.
"""

from __future__ import annotations

# concept -> its forms. Forms of one concept are one token, so two outlets' word choices agree.
CONCEPTS: dict[str, str] = {
    "acquire": "buy buys bought buying acquire acquires acquired acquiring acquisition acquisitions purchase"
    " purchases purchased purchasing takeover takeovers snap snaps kauft kaufen kaufte gekauft übernimmt"
    " übernahme übernehmen übernommen erwirbt erwerb erworben rachète rachat racheter acquiert achète"
    " achat adquiere adquirir adquirió adquisición compra comprar compró adquire adquiriu aquisição"
    " 買収 收购 并购 購入 购买 인수 매입 अधिग्रहण खरीदेगी खरीदा खरीद",
    "stake": "stake stakes beteiligung anteil anteile participation participación participação"
    " 出資 株式 股份 股权 入股 지분 हिस्सेदारी",
    "hire": "hire hires hired hiring poach poaches poached recruit recruits recruited join joins joined"
    " appoint appoints appointed taps tapped names einstellung verpflichtet holt recrute embauche recrutement"
    " contrata contrató ficha fichaje contratação 採用 招聘 聘请 加盟 영입 채용 नियुक्त भर्ती",
    "cut": "cut cuts cutting layoff layoffs lay laying eliminate eliminates slash slashes stellenabbau"
    " entlassungen streicht licenciements supprime despidos recorta demissões corta 人員削減 解雇 裁员"
    " 감원 해고 구조조정 छंटनी",
    "job": "job jobs role roles position positions worker workers employee employees staff staffers"
    " stellen arbeitsplätze emplois empleos empregos 雇用 岗位 일자리 नौकरियां",
    "aero": "aircraft aerospace aviation plane planes jet jets airplane airplanes luftfahrt flugzeug"
    " aéronautique avion aeroespacial aviones aeroespacial aviões 航空 航空宇宙 航空航天 항공 एयरोस्पेस",
    "part": "part parts component components teile komponenten pièces composants piezas componentes"
    " peças 部品 零部件 부품 पुर्जे",
    "maker": "maker makers manufacturer manufacturers supplier suppliers producer producers hersteller"
    " zulieferer fabricant fournisseur fabricante proveedor fornecedor メーカー 制造商 供应商 제조업체"
    " 업체 निर्माता",
    "machinetool": "toolmaker toolmakers werkzeugmaschinen werkzeugmaschinenhersteller machines-outils"
    " máquinas-herramienta máquinas-ferramenta 工作機械 机床 공작기계",
    "launch": "launch launches launched unveil unveils unveiled debut debuts introduces vorgestellt"
    " präsentiert lance lancé dévoile lanza lanzó presenta lança lançou apresenta 発表 公開 発売 发布"
    " 推出 출시 공개 लॉन्च",
    "leave": "leave leaves leaving depart departs departing retire retires retiring exit exits quits quit"
    " verlässt quitte deja deixa 退任 辞任 离职 辞职 사임 퇴임 इस्तीफा",
    "revenue": "revenue revenues sales umsatz chiffre ventas receita 売上 营收 매출 राजस्व",
    "factory": "factory factories plant plants facility facilities fabrik werk usine fábrica 工場 工厂"
    " 공장 कारखाना संयंत्र",
    "sue": "sue sues sued suing lawsuit lawsuits suit suits complaint klage verklagt plainte poursuit"
    " procès demanda demanda processo processa 提訴 訴訟 起诉 诉讼 소송 제소 मुकदमा",
    "partner": "partner partners partnered partnering partnership partnerships alliance collaborate"
    " collaborates collaboration pact tieup partnerschaft kooperation kooperiert partenariat alianza"
    " asociación parceria 提携 協業 合作 携手 제휴 협력 साझेदारी",
    "raise": "raise raises raised raising funding round rounds finanzierungsrunde finanzierung sammelt lève"
    " levée recauda ronda capta rodada 資金調達 調達 融资 募资 투자유치 유치 조달 जुटाए फंडिंग",
    "valuation": "valuation valuations bewertung valorisation valoración avaliação valuação 評価額 估值"
    " 기업가치 मूल्यांकन",
    "office": "office offices hub hubs headquarters hq campus büro niederlassung standort bureau bureaux"
    " oficina oficinas sede escritório 拠点 事務所 オフィス 办公室 办事处 总部 사무소 사무실 거점 कार्यालय दफ्तर",
    "open": "open opens opened opening eröffnet eröffnung ouvre ouverture abre abrió inaugura 開設 开设"
    " 设立 개설 खोलेगी खोला",
    "fund": "fund funds fonds fondo fondos fundo fundos ファンド 基金 펀드 फंड कोष",
    "regulator": "regulator regulators antitrust ftc cfius probe investigation kartellamt behörde"
    " régulateur autorité regulador 当局 規制 监管 규제 नियामक",
    "model": "model models modell modèle modelo モデル 模型 모델 मॉडल",
    "contract": "contract contracts auftrag vertrag contrat contrato 契約 受注 合同 订单 계약 수주 अनुबंध",
    "ceo": "ceo ceos",
    # Places: a country and its adjective are one place ("Japan's Okabe" = "Japanese Okabe"), in every language.
    "japan": "japan japanese japon japón japão japanisch japanische japanischen japonais japonaise japonés"
    " japonesa japonês 日本 일본 जापान",
    "germany": "germany german deutschland deutsche deutscher deutschen allemagne allemand allemande alemania"
    " alemán alemana alemanha alemão ドイツ 德国 독일 जर्मनी",
    "china": "china chinese chinesisch chinesische chine chinois chinoise chino china chinês 中国 중국 चीन",
    "korea": "korea korean korea südkorea corée coréen corea coreano coreia 韓国 韩国 한국 कोरिया",
    "india": "india indian indien indische inde indien indio indiano indiana インド 印度 인도 भारत",
    "france": "france french frankreich französisch französische francia francés francesa frança francês"
    " フランス 法国 프랑스 फ्रांस",
    "us": "us usa american americans amerikanisch amerikanische américain américaine estadounidense"
    " americano americana norte-americano 米国 美国 미국 अमेरिका अमेरिकी",
    "uk": "uk britain british großbritannien britisch britannique británico britânico 英国 영국 ब्रिटेन",
    "taiwan": "taiwan taiwanese 台湾 대만 ताइवान",
    "mexico": "mexico mexican mexiko mexique méxico mexicano メキシコ 墨西哥 멕시코 मेक्सिको",
    "munich": "munich münchen munchen múnich munique ミュンヘン 慕尼黑 뮌헨 म्यूनिख",
    "tokyo": "tokyo tokio 東京 东京 도쿄 टोक्यो",
    "detroit": "detroit デトロイト 底特律 디트로이트 डेट्रॉयट",
    "pentagon": "pentagon pentagone pentágono 国防総省 五角大楼 국방부 पेंटागन",
    "land": "land lands landed landing",
    "outage": "outage outages offline",
    "forecast": "forecast forecasts outlook guidance",
}

# What happened: action classes, by concept or word (after folding and stemming).
ACTIONS: dict[str, str] = {
    "acquire": "acquire stake merger merge sell sells sold selling sale divest divests",
    "people": "hire leave",
    "raise": "raise valuation invest invests investment investor investors",
    "site": "office open expand expands expansion",
    "partner": "partner",
    "legal": "sue judge litigation",
    "cut": "cut",
    "launch": "launch product release releases",
    "regulator": "regulator",
    "fund": "fund vehicle",
    "contract": "contract order orders",
}

# How far it got: stages, by word (after folding and stemming) or by form inside CJK text.
STAGES: dict[str, str] = {
    "talks": "talks negotiate negotiating negotiation negotiations nears nearing weighs weighing considers"
    " considering explores exploring mulls mulling eyes eyeing approach approached seeks seeking bid bids"
    " offer offers gespräche verhandelt verhandlungen discussions négociations pourparlers conversaciones"
    " negociaciones negociações conversas 協議 交渉 谈判 洽谈 磋商 협상 논의 बातचीत वार्ता",
    "agreed": "agrees agreed sign signs signed seal seals sealed definitive unterzeichnet einigt vereinbart signe signé firma"
    " firmó assina assinou 合意 締結 签署 达成协议 합의 체결 समझौता",
    "approved": "approve approves approved clear clears cleared genehmigt approuve autorise aprueba aprova"
    " 承認 批准 승인 मंजूरी",
    "declined": "reject rejects rejected rebuff rebuffs rebuffed decline declines declined block blocks"
    " blocked collapse collapses collapsed abandon abandons abandoned scrap scraps scrapped lehnt ablehnt"
    " rejette rechaza rejeita 拒否 拒绝 거부 खारिज",
    "done": "complete completes completed completion close closes closed closing finalize finalizes"
    " finalized finalise finalises finalised end ends ended abgeschlossen vollzogen"
    " finalisé bouclé completa completó cierra concluiu conclui 完了 完成 완료 마무리",
    "filed": "sue files filed",
    "resolved": "dismiss dismisses dismissed toss tosses tossed settle settles settled settlement ruling"
    " verdict drops dropped abgewiesen desestima arquiva 棄却 和解 驳回 기각",
}
# When a headline names several stages ("rejects approach"), the furthest is the one it reports.
STAGE_ORDER = ("talks", "filed", "agreed", "approved", "declined", "resolved", "done")

# The story's boilerplate: what every report about the company says, whatever the event.
BOILERPLATE = (
    "project prometheus jeff bezos vik vikram bajaj amazon founder cofounder cofounded google verily"
    " billionaire richest lab labs coceo cochief colead coled corun cohead physicist executive executives"
    " chief boss tycoon magnate mogul backed founded led projekt proyecto projeto"
    " ベゾス プロメテウス バジャジ 贝索斯 普罗米修斯 巴贾杰 베이조스 프로메테우스 바자즈 बेजोस प्रोमेथियस बजाज"
)
BOILERPLATE_PREFIXES = ("bezo", "prometheu", "bajaj")  # "Bezos-backed", "Prometheus's", "Bajaj-led"
# The story's subject in the scripts found inside text: a report that names it is about the company.
SUBJECT_FORMS = "ベゾス プロメテウス 贝索斯 普罗米修斯 베이조스 프로메테우스 बेजोस प्रोमेथियस"
BOILERPLATE_AMOUNTS = ("$6.2 billion", "$100 billion")  # the launch money and the fund's target
